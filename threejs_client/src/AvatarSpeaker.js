import { AudioStream } from './AudioStream.js';
import { decodeCurves } from './clock.js';
import { Connection } from './Connection.js';
import { CurveTrack } from './CurveTrack.js';
import { FaceDriver } from './FaceDriver.js';
import { VrmDriver } from './VrmDriver.js';
import { SpatialVoice } from './SpatialVoice.js';

const now = () => (globalThis.performance ? performance.now() : Date.now());
const DEFAULT_MOUTH = Object.freeze({ x: 0, y: 0.03, z: 0.09 });

/**
 * The drop-in: point it at the bridge, attach any three.js avatar with morph targets, speak.
 *
 *     const speaker = new AvatarSpeaker({ url: 'ws://127.0.0.1:8765/ws' });
 *     speaker.attach(gltf.scene);
 *     speaker.attachTo(renderer, camera);  // optional: look at the viewer, voice from the mouth (WebXR too)
 *     renderer.setAnimationLoop((time) => { speaker.update(time); renderer.render(scene, camera); });
 *     await speaker.speak('Hello there!', { emotion: 'happy' });
 *
 * `update` works from any loop (`renderer.setAnimationLoop` on a page or in an XR session at the
 * headset's 72/90/120 Hz, or your own): the face is sampled at the AudioContext clock, never at the
 * loop's time, and nothing here calls requestAnimationFrame.
 *
 * A new `speak` interrupts the line playing (audio and mouth stop together). Events (EventTarget):
 * `linestart` (detail: the `start` header), `lineevents` (detail: an `events` header: phonemes, words,
 * visemes), `firstaudio` (detail: {id, ms}), `lineend` (detail: the result of `speak`).
 */
export class AvatarSpeaker extends EventTarget {
  /**
   * @param {{url?: string, connection?: Connection, audioContext?: AudioContext, profile?: string,
   *   idle?: boolean, voice?: string, emotion?: string, fps?: number, lead?: number,
   *   destination?: AudioNode, reconnect?: boolean, viewer?: import('three').Camera, spatial?: boolean,
   *   lookAt?: boolean|'speaking'|'always', mouthOffset?: {x: number, y: number, z: number},
   *   panner?: {refDistance?: number, rolloffFactor?: number, distanceModel?: DistanceModelType, panningModel?: PanningModelType}}} [options]
   *   viewer: the camera the avatar talks to (or call `attachTo(renderer, camera)`). With a viewer,
   *   `spatial` (default true) sends the voice through an HRTF PannerNode at the mouth and moves the
   *   listener with the camera, and `lookAt` (default 'speaking') turns head and eyes toward it.
   *   `spatial: false` keeps plain stereo; `lookAt: false` keeps the curves' gaze as it is.
   */
  constructor(options = {}) {
    super();
    this.connection = options.connection || new Connection(options.url, { reconnect: options.reconnect });
    this.ownsContext = !options.audioContext;
    this._context = options.audioContext || null;
    this.destination = options.destination || null;
    this._faceOptions = { profile: options.profile, idle: options.idle };
    this.face = new FaceDriver(this._faceOptions);
    this.defaults = { voice: options.voice, emotion: options.emotion, fps: options.fps ?? 60 };
    this.lead = options.lead ?? 0.05;
    /** the line playing, or null */
    this.line = null;
    /** optional per-frame hook: (info) => void, called by update() */
    this.onFrame = null;
    this.viewer = options.viewer || null;
    this.renderer = null;
    this.spatialOption = options.spatial;
    this.lookAtOption = options.lookAt;
    this.mouthOffset = options.mouthOffset || DEFAULT_MOUTH;
    this.pannerOptions = options.panner || {};
    /** @type {SpatialVoice|null} the HRTF path (created on first use) */
    this.voice = null;
    this._route = null;
    this._routedSpatial = null;
    this._lastTime = null;
  }

  /**
   * Talk to the viewer of a three.js renderer: on a flat page `camera`, in a WebXR session the XR
   * camera (`renderer.xr.getCamera()`), looked up every frame. Turns on spatial audio and look-at
   * unless the options turned them off.
   * @param {{xr?: {isPresenting: boolean, getCamera: () => import('three').Camera}}} renderer
   * @param {import('three').Camera} camera
   */
  attachTo(renderer, camera) {
    this.renderer = renderer;
    this.viewer = camera;
    return this;
  }

  /** Spatial audio on? (`spatial` option; by default on once there is a viewer.) */
  get spatial() {
    return this.spatialOption ?? Boolean(this.viewer);
  }

  set spatial(on) { this.spatialOption = Boolean(on); }

  /** The camera the avatar talks to this frame: the XR camera while a session presents, else `viewer`. */
  currentViewer() {
    const xr = this.renderer && this.renderer.xr;
    if (xr && xr.isPresenting) return xr.getCamera();
    return this.viewer;
  }

  /** Where every line's audio goes: one node, wired to the panner or straight out (re-wired when `spatial` changes). */
  _output() {
    const context = this.audioContext;
    if (!this._route) this._route = context.createGain();
    const spatial = this.spatial;
    if (this._routedSpatial !== spatial) {
      const out = this.destination || context.destination;
      if (this._routedSpatial !== null) this._route.disconnect();
      if (spatial) {
        if (!this.voice) this.voice = new SpatialVoice(context, { ...this.pannerOptions, destination: out });
        this._route.connect(this.voice.panner);
      } else {
        this._route.connect(out);
      }
      this._routedSpatial = spatial;
    }
    return this._route;
  }

  /** The AudioContext (created on first use). */
  get audioContext() {
    if (!this._context) this._context = new AudioContext({ latencyHint: 'interactive' });
    return this._context;
  }

  /**
   * Drive this avatar (an Object3D with morph targets somewhere below it, or a three-vrm VRM).
   * @param {any} avatar
   */
  attach(avatar) {
    // a three-vrm VRM goes through its expression manager and look-at (VrmDriver), anything else by morph targets
    const Driver = VrmDriver.isVrm(avatar) ? VrmDriver : FaceDriver;
    if (this.face.constructor !== Driver) { this.face.detach(); this.face = new Driver(this._faceOptions); }
    this.face.attach(avatar);
    return this;
  }

  /**
   * Open the connection (WebSocket and hello) and create the AudioContext now, so the first `speak`
   * pays for neither: call it once the page has loaded. Resolves with the daemon's `welcome`.
   */
  async warmUp() {
    void this.audioContext; // created now; it starts on the page's first user gesture (see speak)
    return this.connection.open();
  }

  /** Voices the daemon offers. */
  async voices() {
    await this.connection.open();
    const reply = await this.connection.request('voices');
    if (reply.type !== 'voices') throw Object.assign(new Error(reply.message), { header: reply });
    return reply.voices;
  }

  /**
   * Speak a line. Resolves when it has been heard to the end, or was interrupted, or failed:
   * `{id, status: 'ok'|'interrupted'|'error', error?, stats?, firstAudioMs, underruns, schedule, events, heardS}`
   * (heardS: seconds of the line heard, all of it when ok, up to the interruption otherwise; `stats` are
   * the daemon's, for the whole line).
   * @param {string} text
   * @param {{voice?: string, emotion?: string, emotion_intensity?: number, speed?: number, seed?: number, fps?: number}} [options]
   */
  async speak(text, options = {}) {
    this.interrupt();
    const context = this.audioContext;
    if (context.state === 'suspended') context.resume().catch(() => {});
    const pressedAt = now();
    const contextAtSpeak = context.currentTime;
    const id = this.connection.newId('s');
    const stream = new AudioStream(context, { lead: this.lead, destination: this._output() });
    let finish;
    const done = new Promise((resolve) => { finish = resolve; });
    const line = {
      id, text, stream, track: null, fps: 60, status: 'playing', ended: false, stats: null, error: null,
      firstAudioMs: null, firstArrivalMs: null, pressedAt, events: { phonemes: [], words: [], visemes: [] }, finish,
    };
    this.line = line;
    try {
      await this.connection.open();
    } catch (error) {
      return this._finish(line, 'error', { code: 'daemon_unavailable', message: String(error.message || error) });
    }
    if (this.line !== line) return this._finish(line, 'interrupted');
    const fields = { ...this.defaults, ...options };
    const header = { type: 'speak', id, text, fps: fields.fps, channels: ['audio', 'visemes', 'blendshapes', 'head', 'eyes', 'events'] };
    for (const key of ['voice', 'emotion', 'emotion_intensity', 'speed', 'seed', 'noise_scale', 'noise_w', 'speaker', 'sentence_silence']) {
      if (fields[key] !== undefined && fields[key] !== null && fields[key] !== '') header[key] = fields[key];
    }
    this.connection.stream(id, (h, payloads) => this._onMessage(line, h, payloads, contextAtSpeak));
    try {
      this.connection.send(header);
    } catch (error) {
      this.connection.forget(id);
      return this._finish(line, 'error', { code: 'daemon_unavailable', message: String(error.message || error) });
    }
    return done;
  }

  _onMessage(line, header, payloads, contextAtSpeak) {
    if (line.status !== 'playing') return;
    switch (header.type) {
      case 'start': {
        line.fps = header.fps;
        line.sampleRate = header.sample_rate;
        line.curveFormat = header.curve_format;
        const columns = header.groups.flatMap((g) => g.channels);
        line.track = new CurveTrack(columns, header.fps);
        this.dispatchEvent(new CustomEvent('linestart', { detail: header }));
        break;
      }
      case 'audio': {
        const when = line.stream.push(header.sample_offset, payloads[0], line.sampleRate);
        if (line.firstAudioMs === null && Number.isFinite(when)) {
          line.firstAudioMs = (when - contextAtSpeak + (this.audioContext.outputLatency || 0)) * 1000;
          line.firstArrivalMs = now() - line.pressedAt;
          this.dispatchEvent(new CustomEvent('firstaudio', { detail: { id: line.id, ms: line.firstAudioMs } }));
        }
        break;
      }
      case 'frames': {
        if (!line.track) break;
        const values = decodeCurves(payloads[0], header.num_frames, header.num_channels, line.curveFormat);
        line.track.add(header.start_frame, header.num_frames, values);
        break;
      }
      case 'events':
        for (const key of ['phonemes', 'words', 'visemes']) line.events[key].push(...(header[key] || []));
        this.dispatchEvent(new CustomEvent('lineevents', { detail: header }));
        break;
      case 'end':
        line.ended = true;
        line.stats = header.stats;
        if (header.status !== 'ok') { line.stream.stop(); this._finish(line, 'interrupted'); break; }
        { // resolve even if nobody calls update(): when the last sample has been heard
          const t = line.stream.position() ?? 0;
          const left = line.sampleRate ? line.stream.samplesScheduled / line.sampleRate - t : 0;
          setTimeout(() => { if (line.status === 'playing') this._finish(line, 'ok'); }, Math.max(0, left) * 1000 + 100);
        }
        break;
      case 'error':
        line.stream.stop();
        this._finish(line, 'error', header);
        break;
      default:
        break;
    }
  }

  /** Stop the line now: cancel it at the daemon, stop its audio and return the mouth to rest together. */
  interrupt() {
    const line = this.line;
    if (!line) return;
    line.heardS = line.stream.position();
    if (!line.ended && line.status === 'playing' && this.connection.connected) {
      try { this.connection.send({ type: 'cancel', id: line.id }); } catch { /* closing */ }
    }
    this.connection.forget(line.id);
    line.stream.stop();
    this._finish(line, 'interrupted');
  }

  _finish(line, status, error = null) {
    if (line.result) return line.result;
    line.status = status;
    if (this.line === line) this.line = null;
    const heard = line.heardS ?? line.stream.position();
    line.result = {
      heardS: Math.max(0, heard ?? 0),
      id: line.id, status, error, stats: line.stats, firstAudioMs: line.firstAudioMs, firstArrivalMs: line.firstArrivalMs,
      underruns: line.stream.underruns, schedule: line.stream.schedule, events: line.events,
      sampleRate: line.sampleRate, fps: line.fps,
    };
    this.dispatchEvent(new CustomEvent('lineend', { detail: line.result }));
    line.finish(line.result);
    return line.result;
  }

  /**
   * Pose the avatar for this rendered frame; call it from the render loop, whichever it is
   * (`renderer.setAnimationLoop`, flat or XR). Samples the curves at the audio clock of the line playing;
   * `time` (ms, what setAnimationLoop passes; default performance.now()) only paces idle motion and
   * the blend between speaking and idle. With a viewer: turns the face toward it and moves the voice to
   * the mouth and the listener to the camera. Returns what it did (for instrumentation): `t` (line
   * seconds shown), `contextTime` (the AudioContext time `t` was read at), `speaking`, `fps`, `line`,
   * `wall` (ms, performance.now()), `time` (ms, the loop's), `look` (look-at offsets and weight, or null),
   * `mouth` (the voice's position, or null).
   * @param {number} [time]
   */
  update(time) {
    const wall = now();
    const clock = Number.isFinite(time) ? time : wall;
    const dt = frameDelta(this._lastTime, clock);
    this._lastTime = clock;
    const line = this.line;
    let t = null;
    let contextTime = null;
    if (line && line.status === 'playing') {
      contextTime = line.stream.context.currentTime;
      t = line.stream.position(contextTime);
      if (line.ended && line.stream.finished) { this._finish(line, 'ok'); t = null; }
    }
    const active = this.line;
    const viewer = this.currentViewer();
    this._lookAt(viewer);
    const speaking = this.face.update(active ? active.track : null, t, clock / 1000, dt);
    const mouth = this._spatialFrame(viewer);
    const look = this.face.lookOffsets ? { ...this.face.lookOffsets, weight: this.face.lookWeight } : null;
    const info = { t, contextTime, speaking, fps: active ? active.fps : null, line: active ? active.id : null, wall,
      time: clock, look, mouth };
    if (this.onFrame) this.onFrame(info);
    return info;
  }

  _lookAt(viewer) {
    const mode = this.lookAtOption ?? 'speaking';
    if (!viewer || mode === false || !this.face.root) { this.face.lookTarget = null; return; }
    if (!this._lookTarget) this._lookTarget = viewer.position.clone();
    viewerPosition(viewer, this._lookTarget);
    this.face.lookTarget = this._lookTarget;
    this.face.lookMode = mode === 'always' ? 'always' : 'speaking';
  }

  /** Voice at the mouth (after the head has turned this frame), listener at the camera. */
  _spatialFrame(viewer) {
    if (this._route) this._output(); // re-wired here when `spatial` was switched (mid-line too)
    if (!this._context || !this.spatial || !this.face.root) return null;
    this._output();
    if (!this._mouth) this._mouth = this.face.root.position.clone();
    this.voice.setPosition(this.face.mouthPosition(this._mouth, this.mouthOffset));
    if (viewer) this.voice.setListener(viewer, viewerPosition(viewer, this.voice.listenerPosition));
    return { x: this._mouth.x, y: this._mouth.y, z: this._mouth.z };
  }

  /** Stop, close the connection, put the avatar back at rest, close the AudioContext we made. */
  dispose() {
    this.interrupt();
    this.connection.close();
    this.face.detach();
    if (this.voice) this.voice.dispose();
    if (this._route) this._route.disconnect();
    this.voice = null;
    this._route = null;
    this._routedSpatial = null;
    if (this.ownsContext && this._context) this._context.close().catch(() => {});
    this._context = null;
  }
}

/**
 * Seconds between two loop timestamps (ms), for the idle blend: 1/60 for the first frame, never negative,
 * and at most 0.25 s (a loop paused while an XR session starts or a tab was hidden resumes smoothly).
 * @param {number|null} previous
 * @param {number} current
 */
export function frameDelta(previous, current) {
  if (previous === null || previous === undefined) return 1 / 60;
  return Math.min(0.25, Math.max(0, (current - previous) / 1000));
}

/**
 * Where the viewer's eyes are, in world space: a camera's position, or for the XR camera (an ArrayCamera,
 * whose own matrix is its first view's: the left eye) the middle of its views. The renderer sets the XR
 * cameras' world matrices when it renders, so in a session this is the pose of the frame rendered last.
 * @param {import('three').Camera} viewer
 * @param {import('three').Vector3} target written
 */
export function viewerPosition(viewer, target) {
  const views = viewer.isArrayCamera && viewer.cameras ? viewer.cameras : [];
  if (views.length === 0) {
    if (!viewer.isArrayCamera) viewer.updateWorldMatrix(true, false);
    return target.setFromMatrixPosition(viewer.matrixWorld);
  }
  let x = 0, y = 0, z = 0;
  for (const view of views) {
    const e = view.matrixWorld.elements;
    x += e[12]; y += e[13]; z += e[14];
  }
  return target.set(x / views.length, y / views.length, z / views.length);
}
