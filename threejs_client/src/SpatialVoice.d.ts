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
    constructor(context: BaseAudioContext, options?: {
        destination?: AudioNode;
        refDistance?: number;
        rolloffFactor?: number;
        distanceModel?: DistanceModelType;
        panningModel?: PanningModelType;
    });
    context: BaseAudioContext;
    panner: PannerNode;
    /** the panner's position now (world units: metres in XR) */
    position: Vector3;
    /** the listener's position now */
    listenerPosition: Vector3;
    /**
     * Move the voice to a world position (call it every frame).
     * @param {{x: number, y: number, z: number}} p
     */
    setPosition(p: {
        x: number;
        y: number;
        z: number;
    }): void;
    /**
     * Put the AudioContext's listener where the camera is, facing where it looks.
     * @param {import('three').Object3D} camera its matrixWorld is read (the XR camera's is set by the renderer)
     * @param {{x: number, y: number, z: number}} [position] where the ears are (default: the camera's position;
     *   AvatarSpeaker passes the middle of the XR camera's views)
     */
    setListener(camera: import("three").Object3D, position?: {
        x: number;
        y: number;
        z: number;
    }): void;
    dispose(): void;
}
import { Vector3 } from 'three';
