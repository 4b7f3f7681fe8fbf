/**
 * Our angles as a rotation in the avatar's frame (+Y up, facing +Z), as docs/export.md defines them:
 * yaw about Y, then pitch about X (positive looks down), then roll about -Z (positive tilts to its left).
 * @param {number} pitch radians
 * @param {number} yaw radians
 * @param {number} [roll=0] radians
 * @param {Quaternion} [target]
 */
export function avatarRotation(pitch: number, yaw: number, roll?: number, target?: Quaternion): Quaternion;
/**
 * Idle motion between lines: blinks every few seconds, a slow head sway, small gaze shifts.
 * Pure in its inputs (time and a seeded pseudo-random), so it is reproducible.
 * @param {number} time seconds (any monotonic clock)
 * @param {Float32Array} values written: eyeBlink*, head*, eye* channels (others untouched)
 * @param {number} amount 0..1, how much idle motion to add
 */
export function idleMotion(time: number, values: Float32Array, amount: number): void;
/**
 * Applies avatarlab curves to any three.js Object3D with morph targets, through a retarget profile
 * (ARKit, Oculus visemes, VRM expressions), and turns the head and eye nodes. It samples curves at a
 * time it is given (the audio clock, from AvatarSpeaker), never the wall clock; idle motion fills
 * the time between lines.
 */
export class FaceDriver {
    /**
     * @param {{profile?: string, idle?: boolean}} [options] profile: 'auto' (default), 'arkit', 'oculus', 'vrm'
     */
    constructor(options?: {
        profile?: string;
        idle?: boolean;
    });
    profileName: string;
    idle: boolean;
    /** current value of every channel, indexed like ALL_CHANNELS */
    values: Float32Array<ArrayBuffer>;
    /** @type {RetargetProfile|null} */
    profile: RetargetProfile | null;
    /** @type {Array<{mesh: any, index: number, name: string, terms: Array<[number, number]>}>} */
    bindings: Array<{
        mesh: any;
        index: number;
        name: string;
        terms: Array<[number, number]>;
    }>;
    /** @type {Array<{name: string, terms: Array<[number, number]>}>} VRM expressions */
    expressions: Array<{
        name: string;
        terms: Array<[number, number]>;
    }>;
    vrm: any;
    /** @type {Record<string, {node: any, rest: Quaternion, parent: Quaternion, parentInv: Quaternion}>} */
    rotationNodes: Record<string, {
        node: any;
        rest: Quaternion;
        parent: Quaternion;
        parentInv: Quaternion;
    }>;
    missingTargets: any[];
    speakingMix: number;
    /**
     * Look-at (LookAt.js): a world point to look at (the viewer's camera position, set each frame by
     * AvatarSpeaker), or null. `lookMode`: 'speaking' (blended in while a line plays) or 'always'.
     * @type {Vector3|null}
     */
    lookTarget: Vector3 | null;
    lookMode: string;
    lookLimits: Readonly<{
        headYaw: 0.6;
        headPitch: 0.35;
        eyeYaw: 0.45;
        eyePitch: 0.3;
        headShare: 0.6;
    }>;
    /** the look-at offsets and weight applied on the last update (null when none) */
    lookOffsets: {
        headYaw: number;
        headPitch: number;
        eyeYaw: number;
        eyePitch: number;
    };
    lookWeight: number;
    /**
     * Bind to an avatar: an Object3D (a glTF scene) or a three-vrm VRM.
     * @param {any} avatar
     * @returns {FaceDriver}
     */
    attach(avatar: any): FaceDriver;
    root: any;
    /** Put every driven target and node back at rest and forget the avatar. */
    detach(): void;
    /**
     * Pose the face for one rendered frame.
     * @param {import('./CurveTrack.js').CurveTrack|null} track the line playing, or null between lines
     * @param {number|null} t seconds of that line's audio heard so far (audio clock), null between lines
     * @param {number} idleTime seconds on any monotonic clock, for idle motion
     * @param {number} [dt=1/60] seconds since the previous update (for the idle cross-fade)
     */
    update(track: import("./CurveTrack.js").CurveTrack | null, t: number | null, idleTime: number, dt?: number): boolean;
    /** Add the look-at offset toward `lookTarget` on top of the curves' (and idle) head and eye motion. */
    _lookAt(values: any): void;
    /**
     * World position of the mouth: `offset` (in the avatar's own frame and units, +Y up, +Z forward) from
     * the head bone, turning with the head; the root when there is no head bone.
     * @param {Vector3} target written
     * @param {{x: number, y: number, z: number}} offset
     * @returns {Vector3}
     */
    mouthPosition(target: Vector3, offset: {
        x: number;
        y: number;
        z: number;
    }): Vector3;
    /**
     * The influence now applied to a morph target of the avatar (first mesh that has it), or null.
     * @param {string} name
     */
    influence(name: string): any;
    _apply(): void;
    /** local = parent^-1 * delta * parent * rest: the delta turns the node in the avatar's frame. */
    _turn(entry: any, pitch: any, yaw: any, roll: any): void;
}
import { Quaternion } from 'three';
import { RetargetProfile } from './RetargetProfile.js';
import { Vector3 } from 'three';
