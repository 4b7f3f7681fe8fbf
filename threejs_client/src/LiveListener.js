import { AudioCapture } from './AudioCapture.js';
import { audioClockTime, decodeCurves } from './clock.js';
import { Connection } from './Connection.js';
import { CurveTrack } from './CurveTrack.js';
import { FaceDriver } from './FaceDriver.js';
import { LinearResampler } from './LinearResampler.js';
import { floatToInt16, liveSampleRate, pcm16leBytes, pieceSamples } from './pcm.js';

const now = () => (globalThis.performance ? performance.now() : Date.now());
/** What a listen stream asks for by default: every curve group and the viseme events. */
export const LIVE_CHANNELS = Object.freeze(['visemes', 'blendshapes', 'head', 'eyes', 'events']);
const LISTEN_FIELDS = ['fps', 'emotion', 'emotion_intensity', 'seed', 'curve_format'];
const KEEP_VISEMES = 256;

/**
 * Live lip sync: audio from a microphone, any AudioNode, or your own PCM, pushed to the daemon in
 * 20 ms pieces (`listen`/`push`, docs/protocol.md section 5a); the curves that come back drive the
 * avatar's face through a FaceDriver.
 *
 *     const live = new LiveListener({ url: 'ws://127.0.0.1:8765/ws' });
 *     live.attach(gltf.scene);
 *     renderer.setAnimationLoop(() => { live.update(); renderer.render(scene, camera); });
 *     await live.startMicrophone();          // from a click: asks for the microphone
 *     ...
 *     const result = await live.stop();      // the last push; resolves on the daemon's `end`
 *
 * **Sync.** Frame `f` shows the face at input time `f / fps` (input time counts the pushed samples).
 * The daemon releases it once `maxDelay` seconds of audio beyond it have been pushed, so the face
 * necessarily trails live input. By default the face shows the newest frame as soon as it arrives
 * (about `maxDelay` + one piece + the round trip behind the microphone). With `monitor: true` the
 * microphone is also played back, delayed by `monitorDelay` = `maxDelay` + `monitorMargin`, and the
 * face is sampled at the position being heard, so sound and mouth stay together.
 *
 * Events: `start` (detail: the `start` header), `frames` (detail: {header, lagMs}), `visemes`
 * (detail: the closed viseme segments), `end` (detail: the result of `stop`, also on errors).
 */
export class LiveListener extends EventTarget {
  /**
   * @param {{url?: string, connection?: Connection, speaker?: any, audioContext?: BaseAudioContext,
   *   face?: FaceDriver, profile?: string, idle?: boolean, reconnect?: boolean, fps?: number,
   *   emotion?: string, emotion_intensity?: number, seed?: number, channels?: string[],
   *   curve_format?: 'f32'|'f16', monitor?: boolean, monitorMargin?: number, monitorDestination?: AudioNode,
   *   pieceMs?: number, maxPending?: number, maxBacklog?: number, window?: number,
   *   workletUrl?: string|URL, scriptProcessor?: boolean}} [options]
   *   speaker: an AvatarSpeaker whose connection, AudioContext and face to share (starting to listen
   *   interrupts its line); pieceMs: push size (20); maxPending: pushes in flight before audio is held
   *   back and sent in bigger pushes (8); maxBacklog: seconds held back before the stream fails (5);
   *   window: seconds of frames kept (10).
   */
  constructor(options = {}) {
    super();
    const speaker = options.speaker || null;
    this.speaker = speaker;
    this.connection = options.connection || (speaker && speaker.connection)
      || new Connection(options.url, { reconnect: options.reconnect });
    this._context = options.audioContext || null;
    this.ownsContext = !options.audioContext && !speaker;
    this.face = options.face || (speaker && speaker.face) || new FaceDriver({ profile: options.profile, idle: options.idle });
    this.defaults = { fps: options.fps ?? 60, channels: options.channels || [...LIVE_CHANNELS] };
    for (const key of LISTEN_FIELDS) if (options[key] !== undefined && key !== 'fps') this.defaults[key] = options[key];
    this.monitor = !!options.monitor;
    this.monitorMargin = options.monitorMargin ?? 0.05;
    this.monitorDestination = options.monitorDestination || null;
    this.pieceMs = options.pieceMs ?? 20;
    this.maxPending = options.maxPending ?? 8;
    this.maxBacklog = options.maxBacklog ?? 5;
    this.window = options.window ?? 10;
    this.workletUrl = options.workletUrl;
    this.scriptProcessor = !!options.scriptProcessor;
    /** the stream running (or the last one), or null */
    this.stream = null;
    /** seconds, from the last `start` (null before) */
    this.maxDelay = null;
    /** optional per-frame hook: (info) => void, called by update() */
    this.onFrame = null;
    this._lastUpdate = null;
  }

  /** The AudioContext (the speaker's, the one given, or one created on first use). */
  get audioContext() {
    if (this._context) return this._context;
    if (this.speaker) return this.speaker.audioContext;
    this._context = new AudioContext({ latencyHint: 'interactive' });
    return this._context;
  }

  /** True from `start` until the stream's end (or error). */
  get active() { return this.stream !== null && !this.stream.ended; }

  /** Seconds the microphone is delayed when monitoring: `maxDelay + monitorMargin` (null before start). */
  get monitorDelay() { return this.stream && this.stream.maxDelay !== null ? this.stream.monitorDelay : null; }

  /**
   * Drive this avatar (an Object3D with morph targets somewhere below it, or a three-vrm VRM).
   * @param {any} avatar
   */
  attach(avatar) { this.face.attach(avatar); return this; }

  /**
   * Ask for the microphone (getUserMedia) and start listening to it; its tracks stop with the stream.
   * Call it from a user gesture (the AudioContext may need one to start).
   * @param {MediaTrackConstraints|true} [constraints]
   * @param {Record<string, any>} [options] as `start`
   */
  async startMicrophone(constraints = true, options = {}) {
    const audio = constraints === true ? { echoCancellation: true, noiseSuppression: true, autoGainControl: true } : constraints;
    if (!globalThis.navigator || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      throw new Error('no microphone access here: getUserMedia needs a secure context (https, or http on localhost)');
    }
    const context = this.audioContext; // resumed now, while the user's gesture still counts
    if (context.state === 'suspended') context.resume().catch(() => {});
    const media = await navigator.mediaDevices.getUserMedia({ audio, video: false });
    try {
      return await this.start(media, { ...options, ownMedia: true });
    } catch (error) {
      for (const track of media.getTracks()) track.stop();
      throw error;
    }
  }

  /**
   * Open a listen stream. With a source (a MediaStream or an AudioNode) its audio is captured and
   * pushed at the AudioContext's rate (resampled only outside 8,000-48,000 Hz); without one, push
   * audio yourself with `pushPcm`. Resolves once the daemon has answered `start`.
   * @param {MediaStream|AudioNode|null} [source]
   * @param {{sampleRate?: number, fps?: number, emotion?: string, emotion_intensity?: number, seed?: number,
   *   channels?: string[], curve_format?: 'f32'|'f16'}} [options] sampleRate: the rate pushed; by default the
   *   context's own for a source (clamped to 8,000-48,000 Hz; a source is resampled only if it differs), 16000 for pushPcm
   * @returns {Promise<{id: string, maxDelay: number, monitorDelay: number, sampleRate: number, fps: number}>}
   */
  async start(source = null, options = {}) {
    if (this.active) this.cancel();
    if (this.speaker && typeof this.speaker.interrupt === 'function') this.speaker.interrupt();
    const context = source ? this.audioContext : this._context || (this.speaker ? this.speaker.audioContext : null);
    const node = source ? sourceNode(context, source) : null;
    const captureRate = node ? context.sampleRate : null;
    const sampleRate = options.sampleRate ?? (node ? liveSampleRate(captureRate) : 16000);
    const fields = { ...this.defaults, ...options };
    const id = this.connection.newId('l');
    const header = listenHeader(id, sampleRate, fields);
    const s = newStream(id, header, context);
    s.node = node;
    s.ownsNode = node !== source;
    s.media = options.ownMedia ? source : null;
    this.stream = s;
    if (context && context.state === 'suspended') context.resume().catch(() => {});
    try {
      await this.connection.open();
    } catch (error) {
      this._finish(s, 'error', { code: 'daemon_unavailable', message: String(error.message || error), source: 'client' });
      throw error;
    }
    if (s.ended) throw streamError(s);
    this.connection.stream(id, (h, payloads) => this._onMessage(s, h, payloads));
    try {
      this.connection.send(header);
    } catch (error) {
      this.connection.forget(id);
      this._finish(s, 'error', { code: 'daemon_unavailable', message: String(error.message || error), source: 'client' });
      throw error;
    }
    const timer = setTimeout(() => {
      if (s.startHeader || s.ended) return;
      this._cancelAtDaemon(s);
      this._finish(s, 'error', { code: 'timeout', message: `no start in ${this.connection.timeout} ms`, source: 'client' });
    }, this.connection.timeout ?? 10000);
    try {
      await s.started;
    } finally {
      clearTimeout(timer);
    }
    if (node) {
      const rate = context.sampleRate;
      s.resampler = rate !== s.sampleRate ? new LinearResampler(rate, s.sampleRate) : null;
      s.capture = new AudioCapture(context, {
        pieceFrames: pieceSamples(rate, this.pieceMs), workletUrl: this.workletUrl, scriptProcessor: this.scriptProcessor,
        onPiece: (samples, frame) => this._onCaptured(s, samples, frame),
      });
      try {
        await s.capture.start(node);
      } catch (error) {
        this.cancel();
        throw error;
      }
      if (this.monitor && !s.ended) {
        s.delay = context.createDelay(Math.max(1, s.monitorDelay + 0.5));
        s.delay.delayTime.value = s.monitorDelay;
        node.connect(s.delay);
        s.delay.connect(this.monitorDestination || context.destination);
      }
    }
    return { id, maxDelay: s.maxDelay, monitorDelay: s.monitorDelay, sampleRate: s.sampleRate, fps: s.fps };
  }

  /**
   * Push audio from another source (a stream started without one): mono samples at the stream's
   * `sampleRate`, float in [-1, 1] or int16. Any length; sent in pushes of at most `max_push_s`.
   * @param {Float32Array|Int16Array} samples
   * @returns {number} samples queued
   */
  pushPcm(samples) {
    const s = this.stream;
    if (!s || s.ended || s.stopping) throw new Error('no live stream to push to: call start() first');
    if (s.capture || s.node) throw new Error('this stream captures its source; pushPcm is for a stream started without one');
    if (s.captureStart === null) s.captureStart = this._clock(s);
    const pcm = samples instanceof Int16Array ? samples.slice() : floatToInt16(samples);
    this._enqueue(s, pcm);
    return pcm.length;
  }

  /**
   * End the stream: stop capturing, push what is left marked `last`, and resolve with the result when
   * the daemon's `end` arrives: `{id, status: 'ok'|'cancelled'|'error', error, stats, client}`.
   */
  stop() {
    const s = this.stream;
    if (!s) return Promise.resolve(null);
    if (s.ended) return Promise.resolve(s.result);
    if (!s.stopping) {
      s.stopping = true;
      this._stopCapture(s);
      this._flush(s);
      s.stopTimer = setTimeout(() => {
        if (s.ended) return;
        this._cancelAtDaemon(s);
        this._finish(s, 'error', { code: 'timeout', message: 'no end after the last push', source: 'client' });
      }, (this.connection.timeout ?? 10000) + 1000 * this.maxBacklog);
    }
    return s.done;
  }

  /** Stop at once: cancel at the daemon, stop capturing; the face returns to rest. */
  cancel() {
    const s = this.stream;
    if (!s || s.ended) return;
    this._cancelAtDaemon(s);
    this._finish(s, 'cancelled');
  }

  /**
   * The input time (seconds of pushed audio) whose face to show now: with monitoring, the position of
   * the delayed microphone being heard; otherwise the newest frame. null before the first frame.
   */
  faceTime() {
    const s = this.stream;
    if (!s || !s.track || s.track.numFrames === 0) return null;
    if (this.monitor && s.delay && s.captureStart !== null) {
      const context = s.context;
      return audioClockTime(context.currentTime, s.captureStart + s.monitorDelay, context.outputLatency || 0);
    }
    return (s.track.numFrames - 1) / s.fps;
  }

  /**
   * Pose the avatar for this rendered frame; call it from the render loop while listening.
   * @param {number} [time] input time to show, if you play the pushed audio yourself (default `faceTime()`)
   */
  update(time) {
    const wall = now();
    const dt = this._lastUpdate === null ? 1 / 60 : (wall - this._lastUpdate) / 1000;
    this._lastUpdate = wall;
    const s = this.active ? this.stream : null;
    const t = s ? (time ?? this.faceTime()) : null;
    const track = s ? s.track : null;
    const speaking = this.face.update(track, t, wall / 1000, dt);
    const info = { t, speaking, fps: s ? s.fps : null, stream: s ? s.id : null, wall,
      newest: s && track && track.numFrames ? (track.numFrames - 1) / s.fps : null };
    if (this.onFrame) this.onFrame(info);
    return info;
  }

  /**
   * Counters of the stream (the last one when none runs), for display and tests. Delays in ms:
   * `rttMs` push sent to its `frames` reply; `lagMs` how far the newest frame trails the input clock
   * when it arrives (at least `maxDelay`); `late` frames the monitored sound had already passed.
   */
  get stats() {
    const s = this.stream;
    if (!s) return null;
    const mean = (sum, n) => (n ? sum / n : null);
    return {
      id: s.id, status: s.ended ? s.status : s.stopping ? 'stopping' : s.startHeader ? 'listening' : 'starting',
      sampleRate: s.sampleRate, fps: s.fps, capture: s.capture ? s.capture.kind : null, resampled: !!s.resampler,
      maxDelayMs: s.maxDelay === null ? null : s.maxDelay * 1000,
      monitorDelayMs: this.monitor && s.maxDelay !== null ? s.monitorDelay * 1000 : null,
      pushes: s.pushes, replies: s.replies, pending: s.pending, maxPendingSeen: s.maxPendingSeen,
      samplesPushed: s.samplesSent, audioSeconds: s.samplesSent / s.sampleRate, backlogMs: (s.backlogLength / s.sampleRate) * 1000,
      frames: s.track ? s.track.numFrames : 0, framesMessages: s.framesMessages, visemes: s.visemeCount,
      rttMs: s.rtt.last, meanRttMs: mean(s.rtt.sum, s.rtt.n), maxRttMs: s.rtt.max,
      lagMs: s.lag.last, meanLagMs: mean(s.lag.sum, s.lag.n), maxLagMs: s.lag.max, minLagMs: s.lag.min,
      late: s.late, daemon: s.endStats,
    };
  }

  /** Cancel, close the connection unless it is the speaker's, put the avatar back at rest. */
  dispose() {
    this.cancel();
    if (!this.speaker) {
      this.connection.close();
      this.face.detach();
    }
    if (this.ownsContext && this._context) this._context.close().catch(() => {});
    this._context = null;
  }

  // ---- internals --------------------------------------------------------------------------------

  _clock(s) {
    return s.context ? s.context.currentTime : now() / 1000;
  }

  _onCaptured(s, samples, frame) {
    if (s.ended || s.stopping) return;
    if (s.captureStart === null) s.captureStart = frame / s.context.sampleRate;
    const audio = s.resampler ? s.resampler.process(samples) : samples;
    if (audio.length) this._enqueue(s, floatToInt16(audio));
  }

  _enqueue(s, pcm) {
    if (pcm.length) {
      s.backlog.push(pcm);
      s.backlogLength += pcm.length;
    }
    if (s.backlogLength > this.maxBacklog * s.sampleRate) {
      this._cancelAtDaemon(s);
      this._finish(s, 'error', { code: 'overrun', message: `more than ${this.maxBacklog} s of audio wait to be pushed: `
        + 'the daemon or the connection is not keeping up', retryable: true, source: 'client' });
      return;
    }
    this._flush(s);
  }

  /** Send what waits, in pushes of at most max_push_s, while fewer than maxPending are unanswered. */
  _flush(s) {
    if (s.ended || !s.startHeader || s.lastSent) return;
    const limits = (this.connection.welcome && this.connection.welcome.limits) || {};
    const maxPending = Math.max(1, Math.min(this.maxPending, limits.max_pending_pushes ?? 32));
    const maxSamples = Math.max(1, Math.floor((limits.max_push_s ?? 1) * s.sampleRate));
    while (s.pending < maxPending) {
      const last = s.stopping && s.backlogLength <= maxSamples;
      if (s.backlogLength === 0 && !last) return;
      const pcm = takeSamples(s, Math.min(s.backlogLength, maxSamples));
      const header = pushHeader(s.id, last);
      try {
        this.connection.send(header, pcm16leBytes(pcm));
      } catch (error) {
        this._finish(s, 'error', { code: 'connection_lost', message: String(error.message || error), retryable: true, source: 'client' });
        return;
      }
      s.pushes += 1;
      s.pending += 1;
      s.maxPendingSeen = Math.max(s.maxPendingSeen, s.pending);
      s.samplesSent += pcm.length;
      s.sentAt.push(now());
      if (last) { s.lastSent = true; return; }
    }
  }

  _onMessage(s, header, payloads) {
    if (s.ended) return;
    switch (header.type) {
      case 'start': {
        s.startHeader = header;
        s.fps = header.fps;
        s.sampleRate = header.sample_rate;
        s.curveFormat = header.curve_format || 'f32';
        s.maxDelay = header.max_delay_s;
        s.monitorDelay = s.maxDelay + this.monitorMargin;
        s.track = new CurveTrack(header.groups.flatMap((g) => g.channels), header.fps);
        if (this.stream === s) this.maxDelay = s.maxDelay;
        this.dispatchEvent(new CustomEvent('start', { detail: header }));
        s.resolveStart(header);
        this._flush(s);
        break;
      }
      case 'frames': {
        s.framesMessages += 1;
        s.replies += 1;
        s.pending = Math.max(0, s.pending - 1);
        const sent = s.sentAt.shift();
        if (sent !== undefined) record(s.rtt, now() - sent);
        let lagMs = null;
        if (header.num_frames > 0 && s.track) {
          let values;
          try {
            values = decodeCurves(payloads[0] || new Uint8Array(0), header.num_frames, header.num_channels, s.curveFormat);
          } catch (error) {
            this._cancelAtDaemon(s);
            this._finish(s, 'error', { code: 'bad_message', message: String(error.message || error), source: 'client' });
            return;
          }
          const first = s.track.numFrames;
          s.track.add(header.start_frame, header.num_frames, values);
          const newest = (header.start_frame + header.num_frames - 1) / s.fps;
          if (s.captureStart !== null) {
            lagMs = (this._clock(s) - s.captureStart - newest) * 1000;
            record(s.lag, lagMs);
          }
          if (this.monitor && s.delay) {
            const t = this.faceTime();
            if (t !== null && t > first / s.fps) s.late += 1;
          }
          s.track.trimBefore(s.track.numFrames - Math.ceil(this.window * s.fps));
        }
        s.samplesIn = header.samples_in;
        this.dispatchEvent(new CustomEvent('frames', { detail: { header, lagMs } }));
        this._flush(s);
        break;
      }
      case 'events': {
        const visemes = header.visemes || [];
        s.visemeCount += visemes.length;
        s.visemes.push(...visemes);
        if (s.visemes.length > KEEP_VISEMES) s.visemes.splice(0, s.visemes.length - KEEP_VISEMES);
        if (visemes.length) this.dispatchEvent(new CustomEvent('visemes', { detail: visemes }));
        break;
      }
      case 'end':
        s.endStats = header.stats || null;
        this._finish(s, header.status === 'ok' ? 'ok' : 'cancelled');
        break;
      case 'error':
        this._finish(s, 'error', header);
        break;
      default:
        break;
    }
  }

  _cancelAtDaemon(s) {
    if (s.ended) return;
    try { if (this.connection.connected) this.connection.send({ type: 'cancel', id: s.id }); } catch { /* closing */ }
    this.connection.forget(s.id);
  }

  _stopCapture(s) {
    if (s.capture) s.capture.stop();
    if (s.delay) {
      try { s.delay.disconnect(); } catch { /* already */ }
      if (s.node) { try { s.node.disconnect(s.delay); } catch { /* already */ } }
    }
    if (s.node && s.ownsNode) { try { s.node.disconnect(); } catch { /* already */ } }
    if (s.media) for (const track of s.media.getTracks()) track.stop();
  }

  _finish(s, status, error = null) {
    if (s.ended) return s.result;
    s.ended = true;
    s.status = status;
    s.error = error;
    clearTimeout(s.stopTimer);
    this._stopCapture(s);
    s.backlog = [];
    s.backlogLength = 0;
    s.result = { id: s.id, status, error, stats: s.endStats, client: this.stream === s ? this.stats : null };
    if (!s.startHeader) s.rejectStart(streamError(s));
    this.dispatchEvent(new CustomEvent('end', { detail: s.result }));
    s.resolveDone(s.result);
    return s.result;
  }
}

/**
 * The `listen` header for a stream of pcm16le audio at `sampleRate`.
 * @param {string} id
 * @param {number} sampleRate
 * @param {Record<string, any>} fields fps, channels, emotion, emotion_intensity, seed, curve_format
 */
export function listenHeader(id, sampleRate, fields = {}) {
  const header = { type: 'listen', id, sample_rate: sampleRate, audio_format: 'pcm16le', fps: fields.fps ?? 60,
    channels: fields.channels || [...LIVE_CHANNELS] };
  for (const key of LISTEN_FIELDS) {
    if (key !== 'fps' && fields[key] !== undefined && fields[key] !== null && fields[key] !== '') header[key] = fields[key];
  }
  return header;
}

/**
 * The `push` header (its payload, the pcm16le bytes, goes beside it).
 * @param {string} id the listen stream
 * @param {boolean} [last]
 */
export function pushHeader(id, last = false) {
  return last ? { type: 'push', id, last: true } : { type: 'push', id };
}

function newStream(id, header, context) {
  const s = {
    id, context, sampleRate: header.sample_rate, fps: header.fps, curveFormat: 'f32', startHeader: null, track: null,
    maxDelay: null, monitorDelay: null, captureStart: null, node: null, ownsNode: false, media: null, capture: null,
    resampler: null, delay: null, backlog: [], backlogLength: 0, pending: 0, maxPendingSeen: 0, pushes: 0, replies: 0,
    samplesSent: 0, samplesIn: 0, sentAt: [], framesMessages: 0, visemes: [], visemeCount: 0, late: 0,
    rtt: { last: null, sum: 0, n: 0, max: null, min: null }, lag: { last: null, sum: 0, n: 0, max: null, min: null },
    stopping: false, lastSent: false, ended: false, status: null, error: null, endStats: null, result: null, stopTimer: null,
  };
  s.started = new Promise((resolve, reject) => { s.resolveStart = resolve; s.rejectStart = reject; });
  s.started.catch(() => {});
  s.done = new Promise((resolve) => { s.resolveDone = resolve; });
  return s;
}

function streamError(s) {
  const e = s.error || { code: s.status, message: `the stream ended (${s.status})` };
  return Object.assign(new Error(`${e.code}: ${e.message}`), { header: e });
}

function record(acc, value) {
  acc.last = value;
  acc.sum += value;
  acc.n += 1;
  acc.max = acc.max === null ? value : Math.max(acc.max, value);
  acc.min = acc.min === null ? value : Math.min(acc.min, value);
}

function takeSamples(s, n) {
  const out = new Int16Array(n);
  let at = 0;
  while (at < n) {
    const head = s.backlog[0];
    const k = Math.min(head.length, n - at);
    out.set(head.subarray(0, k), at);
    at += k;
    if (k === head.length) s.backlog.shift();
    else s.backlog[0] = head.subarray(k);
  }
  s.backlogLength -= n;
  return out;
}

function sourceNode(context, source) {
  if (source && typeof source.connect === 'function' && typeof source.numberOfOutputs === 'number') return source;
  if (source && typeof source.getAudioTracks === 'function') {
    if (source.getAudioTracks().length === 0) throw new Error('the MediaStream has no audio track');
    return context.createMediaStreamSource(source);
  }
  throw new TypeError('a LiveListener source is a MediaStream or an AudioNode');
}
