/**
 * The `listen` header for a stream of pcm16le audio at `sampleRate`.
 * @param {string} id
 * @param {number} sampleRate
 * @param {Record<string, any>} fields fps, channels, emotion, emotion_intensity, seed, curve_format
 */
export function listenHeader(id: string, sampleRate: number, fields?: Record<string, any>): {
    type: string;
    id: string;
    sample_rate: number;
    audio_format: string;
    fps: any;
    channels: any;
};
/**
 * The `push` header (its payload, the pcm16le bytes, goes beside it).
 * @param {string} id the listen stream
 * @param {boolean} [last]
 */
export function pushHeader(id: string, last?: boolean): {
    type: string;
    id: string;
    last: boolean;
} | {
    type: string;
    id: string;
    last?: undefined;
};
/** What a listen stream asks for by default: every curve group and the viseme events. */
export const LIVE_CHANNELS: readonly string[];
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
    constructor(options?: {
        url?: string;
        connection?: Connection;
        speaker?: any;
        audioContext?: BaseAudioContext;
        face?: FaceDriver;
        profile?: string;
        idle?: boolean;
        reconnect?: boolean;
        fps?: number;
        emotion?: string;
        emotion_intensity?: number;
        seed?: number;
        channels?: string[];
        curve_format?: "f32" | "f16";
        monitor?: boolean;
        monitorMargin?: number;
        monitorDestination?: AudioNode;
        pieceMs?: number;
        maxPending?: number;
        maxBacklog?: number;
        window?: number;
        workletUrl?: string | URL;
        scriptProcessor?: boolean;
    });
    speaker: any;
    connection: any;
    _context: BaseAudioContext;
    ownsContext: boolean;
    face: any;
    defaults: {
        fps: number;
        channels: string[];
    };
    monitor: boolean;
    monitorMargin: number;
    monitorDestination: AudioNode;
    pieceMs: number;
    maxPending: number;
    maxBacklog: number;
    window: number;
    workletUrl: string | URL;
    scriptProcessor: boolean;
    /** the stream running (or the last one), or null */
    stream: {
        id: any;
        context: any;
        sampleRate: any;
        fps: any;
        curveFormat: string;
        startHeader: any;
        track: any;
        maxDelay: any;
        monitorDelay: any;
        captureStart: any;
        node: any;
        ownsNode: boolean;
        media: any;
        capture: any;
        resampler: any;
        delay: any;
        backlog: any[];
        backlogLength: number;
        pending: number;
        maxPendingSeen: number;
        pushes: number;
        replies: number;
        samplesSent: number;
        samplesIn: number;
        sentAt: any[];
        framesMessages: number;
        visemes: any[];
        visemeCount: number;
        late: number;
        rtt: {
            last: any;
            sum: number;
            n: number;
            max: any;
            min: any;
        };
        lag: {
            last: any;
            sum: number;
            n: number;
            max: any;
            min: any;
        };
        stopping: boolean;
        lastSent: boolean;
        ended: boolean;
        status: any;
        error: any;
        endStats: any;
        result: any;
        stopTimer: any;
    };
    /** seconds, from the last `start` (null before) */
    maxDelay: any;
    /** optional per-frame hook: (info) => void, called by update() */
    onFrame: any;
    _lastUpdate: number;
    /** The AudioContext (the speaker's, the one given, or one created on first use). */
    get audioContext(): any;
    /** True from `start` until the stream's end (or error). */
    get active(): boolean;
    /** Seconds the microphone is delayed when monitoring: `maxDelay + monitorMargin` (null before start). */
    get monitorDelay(): any;
    /**
     * Drive this avatar (an Object3D with morph targets somewhere below it, or a three-vrm VRM).
     * @param {any} avatar
     */
    attach(avatar: any): this;
    /**
     * Ask for the microphone (getUserMedia) and start listening to it; its tracks stop with the stream.
     * Call it from a user gesture (the AudioContext may need one to start).
     * @param {MediaTrackConstraints|true} [constraints]
     * @param {Record<string, any>} [options] as `start`
     */
    startMicrophone(constraints?: MediaTrackConstraints | true, options?: Record<string, any>): Promise<{
        id: string;
        maxDelay: number;
        monitorDelay: number;
        sampleRate: number;
        fps: number;
    }>;
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
    start(source?: MediaStream | AudioNode | null, options?: {
        sampleRate?: number;
        fps?: number;
        emotion?: string;
        emotion_intensity?: number;
        seed?: number;
        channels?: string[];
        curve_format?: "f32" | "f16";
    }): Promise<{
        id: string;
        maxDelay: number;
        monitorDelay: number;
        sampleRate: number;
        fps: number;
    }>;
    /**
     * Push audio from another source (a stream started without one): mono samples at the stream's
     * `sampleRate`, float in [-1, 1] or int16. Any length; sent in pushes of at most `max_push_s`.
     * @param {Float32Array|Int16Array} samples
     * @returns {number} samples queued
     */
    pushPcm(samples: Float32Array | Int16Array): number;
    /**
     * End the stream: stop capturing, push what is left marked `last`, and resolve with the result when
     * the daemon's `end` arrives: `{id, status: 'ok'|'cancelled'|'error', error, stats, client}`.
     */
    stop(): any;
    /** Stop at once: cancel at the daemon, stop capturing; the face returns to rest. */
    cancel(): void;
    /**
     * The input time (seconds of pushed audio) whose face to show now: with monitoring, the position of
     * the delayed microphone being heard; otherwise the newest frame. null before the first frame.
     */
    faceTime(): number;
    /**
     * Pose the avatar for this rendered frame; call it from the render loop while listening.
     * @param {number} [time] input time to show, if you play the pushed audio yourself (default `faceTime()`)
     */
    update(time?: number): {
        t: number;
        speaking: any;
        fps: any;
        stream: any;
        wall: number;
        newest: number;
    };
    /**
     * Counters of the stream (the last one when none runs), for display and tests. Delays in ms:
     * `rttMs` push sent to its `frames` reply; `lagMs` how far the newest frame trails the input clock
     * when it arrives (at least `maxDelay`); `late` frames the monitored sound had already passed.
     */
    get stats(): {
        id: any;
        status: any;
        sampleRate: any;
        fps: any;
        capture: any;
        resampled: boolean;
        maxDelayMs: number;
        monitorDelayMs: number;
        pushes: number;
        replies: number;
        pending: number;
        maxPendingSeen: number;
        samplesPushed: number;
        audioSeconds: number;
        backlogMs: number;
        frames: any;
        framesMessages: number;
        visemes: number;
        rttMs: any;
        meanRttMs: number;
        maxRttMs: any;
        lagMs: any;
        meanLagMs: number;
        maxLagMs: any;
        minLagMs: any;
        late: number;
        daemon: any;
    };
    /** Cancel, close the connection unless it is the speaker's, put the avatar back at rest. */
    dispose(): void;
    _clock(s: any): any;
    _onCaptured(s: any, samples: any, frame: any): void;
    _enqueue(s: any, pcm: any): void;
    /** Send what waits, in pushes of at most max_push_s, while fewer than maxPending are unanswered. */
    _flush(s: any): void;
    _onMessage(s: any, header: any, payloads: any): void;
    _cancelAtDaemon(s: any): void;
    _stopCapture(s: any): void;
    _finish(s: any, status: any, error?: any): any;
}
import { Connection } from './Connection.js';
import { FaceDriver } from './FaceDriver.js';
