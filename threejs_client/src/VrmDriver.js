import { FaceDriver } from './FaceDriver.js';
import { CHANNEL_INDEX, RetargetProfile } from './RetargetProfile.js';

const RAD2DEG = 180 / Math.PI;
/** The VRM 1.0 preset expressions we drive (three-vrm names VRM 0.x presets the same: a -> aa, joy -> happy...). */
export const VRM_PRESETS = Object.freeze(['aa', 'ih', 'ou', 'ee', 'oh', 'blink', 'blinkLeft', 'blinkRight', 'happy',
  'angry', 'sad', 'relaxed', 'surprised', 'lookUp', 'lookDown', 'lookLeft', 'lookRight']);
const LOOK_PRESETS = new Set(['lookUp', 'lookDown', 'lookLeft', 'lookRight']);

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
   * @param {{idle?: boolean, lookAt?: boolean}} [options] lookAt: false leaves `vrm.lookAt` alone (the eye
   *   channels then turn nothing; the look expressions follow the ARKit eyeLook channels instead)
   */
  constructor(options = {}) {
    super({ idle: options.idle, profile: 'vrm' });
    this.useLookAt = options.lookAt !== false;
    /** @type {string[]} */
    this.expressionNames = [];
    /** @type {string[]} presets the VRM lacks (a VRM 0.x model need not have them all) */
    this.missingExpressions = [];
    this.lookAt = null;
  }

  /**
   * Whether `avatar` is a VRM as three-vrm loads it (an expression manager and a scene).
   * @param {any} avatar
   * @returns {avatar is VrmLike}
   */
  static isVrm(avatar) {
    return Boolean(avatar && avatar.scene && avatar.expressionManager
      && typeof avatar.expressionManager.setValue === 'function');
  }

  /**
   * The expression values a frame of channel values gives: the `vrm` profile's weighted, clipped sums, except
   * the blinks: `blink` closes both eyes as far as both blink channels agree, `blinkLeft`/`blinkRight` add
   * only what one eye closes beyond that (the three bind the same lids, so their sum must stay a full blink).
   * @param {Float32Array|number[]} values indexed like ALL_CHANNELS
   * @param {readonly string[]} [names] which presets (default: all of VRM_PRESETS)
   * @returns {Record<string, number>}
   */
  static expressionValues(values, names = VRM_PRESETS) {
    const profile = VrmDriver.profile();
    const left = Math.min(1, Math.max(0, values[CHANNEL_INDEX.eyeBlinkLeft]));
    const right = Math.min(1, Math.max(0, values[CHANNEL_INDEX.eyeBlinkRight]));
    const both = Math.min(left, right);
    const blinks = { blink: both, blinkLeft: left - both, blinkRight: right - both };
    return Object.fromEntries(names.map((name) => [name,
      name in blinks ? blinks[name] : RetargetProfile.weight(profile.targets[name], values)]));
  }

  /**
   * The `vrm` retarget profile (one instance, shared).
   * @returns {RetargetProfile}
   */
  static profile() {
    if (!VrmDriver._profile) VrmDriver._profile = RetargetProfile.get('vrm');
    return VrmDriver._profile;
  }

  /**
   * The gaze as `vrm.lookAt` angles, in degrees: our eye channels (radians; yaw positive to the avatar's left,
   * pitch positive down, as three-vrm's yaw and pitch), both eyes averaged.
   * @param {Float32Array|number[]} values indexed like ALL_CHANNELS
   * @returns {{yaw: number, pitch: number}}
   */
  static lookAngles(values) {
    const c = CHANNEL_INDEX;
    return { yaw: ((values[c.leftEyeYaw] + values[c.rightEyeYaw]) / 2) * RAD2DEG,
      pitch: ((values[c.leftEyePitch] + values[c.rightEyePitch]) / 2) * RAD2DEG };
  }

  /**
   * Bind to a VRM loaded by three-vrm (`gltf.userData.vrm`).
   * @param {VrmLike} vrm
   * @returns {this}
   */
  attach(vrm) {
    if (!VrmDriver.isVrm(vrm)) {
      throw new TypeError('VrmDriver.attach takes a VRM loaded by @pixiv/three-vrm (gltf.userData.vrm); '
        + 'drive other avatars with FaceDriver');
    }
    super.attach(vrm);
    const manager = vrm.expressionManager;
    this.lookAt = this.useLookAt && vrm.lookAt ? vrm.lookAt : null;
    /** the presets this VRM has that we set (the look presets are the look-at's when it is used) */
    this.expressionNames = VRM_PRESETS
      .filter((name) => manager.getExpression(name) && !(this.lookAt && LOOK_PRESETS.has(name)));
    this.missingExpressions = VRM_PRESETS.filter((name) => !manager.getExpression(name));
    if (this.lookAt) { // the look-at turns the eyes; our eye-node rotation would fight it
      delete this.rotationNodes.leftEye;
      delete this.rotationNodes.rightEye;
    }
    return this;
  }

  detach() {
    if (this.lookAt) { this.lookAt.yaw = 0; this.lookAt.pitch = 0; }
    super.detach();
    this.lookAt = null;
    this.vrm = null;
  }

  /**
   * Apply one frame of channel values: expressions through the expression manager, gaze through the look-at,
   * the head through the normalized head bone.
   * @param {Float32Array|number[]} values indexed like ALL_CHANNELS
   */
  applyFrame(values) {
    if (!this.vrm) return;
    const manager = this.vrm.expressionManager;
    const weights = VrmDriver.expressionValues(values, this.expressionNames);
    for (const name of this.expressionNames) manager.setValue(name, weights[name]);
    if (this.lookAt) {
      const { yaw, pitch } = VrmDriver.lookAngles(values);
      this.lookAt.yaw = yaw;
      this.lookAt.pitch = pitch;
    }
    const c = CHANNEL_INDEX;
    const nodes = this.rotationNodes;
    if (nodes.head) this._turn(nodes.head, values[c.headPitch], values[c.headYaw], values[c.headRoll]);
    if (nodes.leftEye) this._turn(nodes.leftEye, values[c.leftEyePitch], values[c.leftEyeYaw], 0);
    if (nodes.rightEye) this._turn(nodes.rightEye, values[c.rightEyePitch], values[c.rightEyeYaw], 0);
  }

  /** FaceDriver's per-frame hook. */
  _apply() { this.applyFrame(this.values); }

  /**
   * The value three-vrm holds for an expression now (after `update`), or null when the VRM has none.
   * @param {string} name e.g. 'aa', 'blink'
   * @returns {number|null}
   */
  expressionValue(name) {
    return this.vrm && this.vrm.expressionManager.getExpression(name) ? this.vrm.expressionManager.getValue(name) : null;
  }
}
