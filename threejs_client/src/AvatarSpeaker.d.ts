/**
 * Seconds between two loop timestamps (ms), for the idle blend: 1/60 for the first frame, never negative,
 * and at most 0.25 s (a loop paused while an XR session starts or a tab was hidden resumes smoothly).
 * @param {number|null} previous
 * @param {number} current
 */
export function frameDelta(previous: number | null, current: number): number;
/**
 * Where the viewer's eyes are, in world space: a camera's position, or for the XR camera (an ArrayCamera,
 * whose own matrix is its first view's: the left eye) the middle of its views. The renderer sets the XR
 * cameras' world matrices when it renders, so in a session this is the pose of the frame rendered last.
 * @param {import('three').Camera} viewer
 * @param {import('three').Vector3} target written
 */
export function viewerPosition(viewer: import("three").Camera, target: import("three").Vector3): import("three").Vector3;
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
    constructor(options?: {
        url?: string;
        connection?: Connection;
        audioContext?: AudioContext;
        profile?: string;
        idle?: boolean;
        voice?: string;
        emotion?: string;
        fps?: number;
        lead?: number;
        destination?: AudioNode;
        reconnect?: boolean;
        viewer?: import("three").Camera;
        spatial?: boolean;
        lookAt?: boolean | "speaking" | "always";
        mouthOffset?: {
            x: number;
            y: number;
            z: number;
        };
        panner?: {
            refDistance?: number;
            rolloffFactor?: number;
            distanceModel?: DistanceModelType;
            panningModel?: PanningModelType;
        };
    });
    connection: Connection;
    ownsContext: boolean;
    _context: AudioContext;
    destination: AudioNode;
    _faceOptions: {
        profile: string;
        idle: boolean;
    };
    face: FaceDriver;
    defaults: {
        voice: string;
        emotion: string;
        fps: number;
    };
    lead: number;
    /** the line playing, or null */
    line: {
        id: string;
        text: string;
        stream: AudioStream;
        track: any;
        fps: number;
        status: string;
        ended: boolean;
        stats: any;
        error: any;
        firstAudioMs: any;
        firstArrivalMs: any;
        pressedAt: number;
        events: {
            phonemes: any[];
            words: any[];
            visemes: any[];
        };
        finish: undefined;
    };
    /** optional per-frame hook: (info) => void, called by update() */
    onFrame: any;
    viewer: import("three").Camera;
    renderer: {
        xr?: {
            isPresenting: boolean;
            getCamera: () => import("three").Camera;
        };
    };
    spatialOption: boolean;
    lookAtOption: boolean | "speaking" | "always";
    mouthOffset: Readonly<{
        x: 0;
        y: 0.03;
        z: 0.09;
    }> | {
        x: number;
        y: number;
        z: number;
    };
    pannerOptions: {
        refDistance?: number;
        rolloffFactor?: number;
        distanceModel?: DistanceModelType;
        panningModel?: PanningModelType;
    };
    /** @type {SpatialVoice|null} the HRTF path (created on first use) */
    voice: SpatialVoice | null;
    _route: GainNode;
    _routedSpatial: any;
    _lastTime: number;
    /**
     * Talk to the viewer of a three.js renderer: on a flat page `camera`, in a WebXR session the XR
     * camera (`renderer.xr.getCamera()`), looked up every frame. Turns on spatial audio and look-at
     * unless the options turned them off.
     * @param {{xr?: {isPresenting: boolean, getCamera: () => import('three').Camera}}} renderer
     * @param {import('three').Camera} camera
     */
    attachTo(renderer: {
        xr?: {
            isPresenting: boolean;
            getCamera: () => import("three").Camera;
        };
    }, camera: import("three").Camera): this;
    set spatial(on: boolean);
    /** Spatial audio on? (`spatial` option; by default on once there is a viewer.) */
    get spatial(): boolean;
    /** The camera the avatar talks to this frame: the XR camera while a session presents, else `viewer`. */
    currentViewer(): import("three").Camera;
    /** Where every line's audio goes: one node, wired to the panner or straight out (re-wired when `spatial` changes). */
    _output(): GainNode;
    /** The AudioContext (created on first use). */
    get audioContext(): AudioContext;
    /**
     * Drive this avatar (an Object3D with morph targets somewhere below it, or a three-vrm VRM).
     * @param {any} avatar
     */
    attach(avatar: any): this;
    /**
     * Open the connection (WebSocket and hello) and create the AudioContext now, so the first `speak`
     * pays for neither: call it once the page has loaded. Resolves with the daemon's `welcome`.
     */
    warmUp(): Promise<Record<string, any>>;
    /** Voices the daemon offers. */
    voices(): Promise<any>;
    /**
     * Speak a line. Resolves when it has been heard to the end, or was interrupted, or failed:
     * `{id, status: 'ok'|'interrupted'|'error', error?, stats?, firstAudioMs, underruns, schedule, events, heardS}`
     * (heardS: seconds of the line heard, all of it when ok, up to the interruption otherwise; `stats` are
     * the daemon's, for the whole line).
     * @param {string} text
     * @param {{voice?: string, emotion?: string, emotion_intensity?: number, speed?: number, seed?: number, fps?: number}} [options]
     */
    speak(text: string, options?: {
        voice?: string;
        emotion?: string;
        emotion_intensity?: number;
        speed?: number;
        seed?: number;
        fps?: number;
    }): Promise<any>;
    _onMessage(line: any, header: any, payloads: any, contextAtSpeak: any): void;
    /** Stop the line now: cancel it at the daemon, stop its audio and return the mouth to rest together. */
    interrupt(): void;
    _finish(line: any, status: any, error?: any): any;
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
    update(time?: number): {
        t: number;
        contextTime: number;
        speaking: boolean;
        fps: number;
        line: string;
        wall: number;
        time: number;
        look: {
            weight: number;
            headYaw: number;
            headPitch: number;
            eyeYaw: number;
            eyePitch: number;
        };
        mouth: {
            x: any;
            y: any;
            z: any;
        };
    };
    _lookAt(viewer: any): void;
    _lookTarget: any;
    /** Voice at the mouth (after the head has turned this frame), listener at the camera. */
    _spatialFrame(viewer: any): {
        x: any;
        y: any;
        z: any;
    };
    _mouth: any;
    /** Stop, close the connection, put the avatar back at rest, close the AudioContext we made. */
    dispose(): void;
}
import { Connection } from './Connection.js';
import { FaceDriver } from './FaceDriver.js';
import { AudioStream } from './AudioStream.js';
import { SpatialVoice } from './SpatialVoice.js';
