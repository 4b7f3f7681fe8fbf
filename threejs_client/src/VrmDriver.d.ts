/** The VRM 1.0 preset expressions we drive (three-vrm names VRM 0.x presets the same: a -> aa, joy -> happy...). */
export const VRM_PRESETS: readonly string[];
/**
 * What VrmDriver uses of a three-vrm `VRM` (structurally: three-vrm's own class fits, nothing is imported).
 * @typedef {{
 *   scene: import('three').Object3D,
 *   expressionManager?: {getExpression(name: string): object | null | undefined,
 *     setValue(name: string, weight: number): void, getValue(name: string): number | null | undefined} | null,
 *   humanoid?: {getNormalizedBoneNode(name: any): import('three').Object3D | null | undefined} | null,
 *   lookAt?: {yaw: number, pitch: number} | null,
 * }} VrmLike
 */
/**
 * Drives a VRM (0.x or 1.0) loaded by `@pixiv/three-vrm` through the VRM's own expression manager and look-at,
 * never through morph target names: our visemes set `aa ih ou ee oh`, the blink channels `blink blinkLeft
 * blinkRight`, the smile/frown/brow/eye-wide channels `happy angry sad relaxed surprised` (the `vrm` retarget
 * profile), the eye channels turn `vrm.lookAt` (its bone or expression look-at: the model's own ranges), the
 * head channels the normalized head bone. It does not import three-vrm: it takes the VRM you loaded, so
 * three-vrm stays your dependency. Call `vrm.update(delta)` after the speaker's `update()`: three-vrm applies
 * expressions, look-at and bones there.
 *
 *     const vrm = gltf.userData.vrm;            // GLTFLoader with VRMLoaderPlugin
 *     const face = new VrmDriver().attach(vrm); // or speaker.attach(vrm), which picks a VrmDriver itself
 *     face.update(track, t, clock, dt); vrm.update(dt);
 *
 * Same interface as FaceDriver (attach, detach, update, applyFrame), of which it is one kind.
 */
export class VrmDriver extends FaceDriver {
    /**
     * Whether `avatar` is a VRM as three-vrm loads it (an expression manager and a scene).
     * @param {any} avatar
     * @returns {avatar is VrmLike}
     */
    static isVrm(avatar: any): avatar is VrmLike;
    /**
     * The expression values a frame of channel values gives: the `vrm` profile's weighted, clipped sums, except
     * the blinks: `blink` closes both eyes as far as both blink channels agree, `blinkLeft`/`blinkRight` add
     * only what one eye closes beyond that (the three bind the same lids, so their sum must stay a full blink).
     * @param {Float32Array|number[]} values indexed like ALL_CHANNELS
     * @param {readonly string[]} [names] which presets (default: all of VRM_PRESETS)
     * @returns {Record<string, number>}
     */
    static expressionValues(values: Float32Array | number[], names?: readonly string[]): Record<string, number>;
    /**
     * The `vrm` retarget profile (one instance, shared).
     * @returns {RetargetProfile}
     */
    static profile(): RetargetProfile;
    /**
     * The gaze as `vrm.lookAt` angles, in degrees: our eye channels (radians; yaw positive to the avatar's left,
     * pitch positive down, as three-vrm's yaw and pitch), both eyes averaged.
     * @param {Float32Array|number[]} values indexed like ALL_CHANNELS
     * @returns {{yaw: number, pitch: number}}
     */
    static lookAngles(values: Float32Array | number[]): {
        yaw: number;
        pitch: number;
    };
    /**
     * @param {{idle?: boolean, lookAt?: boolean}} [options] lookAt: false leaves `vrm.lookAt` alone (the eye
     *   channels then turn nothing; the look expressions follow the ARKit eyeLook channels instead)
     */
    constructor(options?: {
        idle?: boolean;
        lookAt?: boolean;
    });
    useLookAt: boolean;
    /** @type {string[]} */
    expressionNames: string[];
    /** @type {string[]} presets the VRM lacks (a VRM 0.x model need not have them all) */
    missingExpressions: string[];
    lookAt: {
        yaw: number;
        pitch: number;
    };
    /**
     * Bind to a VRM loaded by three-vrm (`gltf.userData.vrm`).
     * @param {VrmLike} vrm
     * @returns {this}
     */
    attach(vrm: VrmLike): this;
    /**
     * Apply one frame of channel values: expressions through the expression manager, gaze through the look-at,
     * the head through the normalized head bone.
     * @param {Float32Array|number[]} values indexed like ALL_CHANNELS
     */
    applyFrame(values: Float32Array | number[]): void;
    /**
     * The value three-vrm holds for an expression now (after `update`), or null when the VRM has none.
     * @param {string} name e.g. 'aa', 'blink'
     * @returns {number|null}
     */
    expressionValue(name: string): number | null;
}
/**
 * What VrmDriver uses of a three-vrm `VRM` (structurally: three-vrm's own class fits, nothing is imported).
 */
export type VrmLike = {
    scene: import("three").Object3D;
    expressionManager?: {
        getExpression(name: string): object | null | undefined;
        setValue(name: string, weight: number): void;
        getValue(name: string): number | null | undefined;
    } | null;
    humanoid?: {
        getNormalizedBoneNode(name: any): import("three").Object3D | null | undefined;
    } | null;
    lookAt?: {
        yaw: number;
        pitch: number;
    } | null;
};
import { FaceDriver } from './FaceDriver.js';
import { RetargetProfile } from './RetargetProfile.js';
