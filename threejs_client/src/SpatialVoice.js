import { Vector3 } from 'three';

/**
 * The voice coming from the avatar's mouth: a PannerNode (HRTF) whose position follows the head bone
 * every rendered frame, and the AudioContext's listener following the camera (the XR camera in a
 * session). Only positions move: the audio itself stays scheduled on the same AudioContext clock the
 * face is sampled at, so sound and mouth stay together (HRTF filtering adds a few samples, measured in
 * benchmarks/results/web_xr.md).
 */
export class SpatialVoice {
  /**
   * @param {BaseAudioContext} context
   * @param {{destination?: AudioNode, refDistance?: number, rolloffFactor?: number, distanceModel?: DistanceModelType,
   *   panningModel?: PanningModelType}} [options]
   */
  constructor(context, options = {}) {
    this.context = context;
    this.panner = context.createPanner();
    this.panner.panningModel = options.panningModel || 'HRTF';
    this.panner.distanceModel = options.distanceModel || 'inverse';
    this.panner.refDistance = options.refDistance ?? 1;
    this.panner.rolloffFactor = options.rolloffFactor ?? 1;
    this.panner.connect(options.destination || context.destination);
    /** the panner's position now (world units: metres in XR) */
    this.position = new Vector3();
    /** the listener's position now */
    this.listenerPosition = new Vector3();
  }

  /**
   * Move the voice to a world position (call it every frame).
   * @param {{x: number, y: number, z: number}} p
   */
  setPosition(p) {
    this.position.set(p.x, p.y, p.z);
    setVector(this.panner, ['positionX', 'positionY', 'positionZ'], p, 'setPosition');
  }

  /**
   * Put the AudioContext's listener where the camera is, facing where it looks.
   * @param {import('three').Object3D} camera its matrixWorld is read (the XR camera's is set by the renderer)
   * @param {{x: number, y: number, z: number}} [position] where the ears are (default: the camera's position;
   *   AvatarSpeaker passes the middle of the XR camera's views)
   */
  setListener(camera, position) {
    const e = camera.matrixWorld.elements;
    const listener = this.context.listener;
    if (position) this.listenerPosition.set(position.x, position.y, position.z);
    else this.listenerPosition.set(e[12], e[13], e[14]);
    setVector(listener, ['positionX', 'positionY', 'positionZ'], this.listenerPosition, 'setPosition');
    const forward = _v.set(-e[8], -e[9], -e[10]).normalize();
    const up = _u.set(e[4], e[5], e[6]).normalize();
    if (listener.forwardX) {
      setVector(listener, ['forwardX', 'forwardY', 'forwardZ'], forward);
      setVector(listener, ['upX', 'upY', 'upZ'], up);
    } else if (listener.setOrientation) {
      listener.setOrientation(forward.x, forward.y, forward.z, up.x, up.y, up.z);
    }
  }

  dispose() {
    this.panner.disconnect();
  }
}

const _v = new Vector3();
const _u = new Vector3();

/** AudioParams where the browser has them (set now), else the older setter (Firefox before 2024). */
function setVector(node, params, p, legacy) {
  if (node[params[0]]) {
    node[params[0]].value = p.x;
    node[params[1]].value = p.y;
    node[params[2]].value = p.z;
  } else if (legacy && node[legacy]) {
    node[legacy](p.x, p.y, p.z);
  }
}
