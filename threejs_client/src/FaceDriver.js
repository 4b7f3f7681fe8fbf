import { Quaternion, Vector3 } from 'three';
import { frameAt } from './clock.js';
import { LOOK_AT_LIMITS, addLookAt, lookAtOffsetsFor } from './LookAt.js';
import { ALL_CHANNELS, CHANNEL_INDEX, RetargetProfile } from './RetargetProfile.js';

const X = new Vector3(1, 0, 0);
const Y = new Vector3(0, 1, 0);
const Z = new Vector3(0, 0, 1);
const _qa = new Quaternion();
const _qb = new Quaternion();
const _qc = new Quaternion();
const _va = new Vector3();

/**
 * Our angles as a rotation in the avatar's frame (+Y up, facing +Z), as docs/export.md defines them:
 * yaw about Y, then pitch about X (positive looks down), then roll about -Z (positive tilts to its left).
 * @param {number} pitch radians
 * @param {number} yaw radians
 * @param {number} [roll=0] radians
 * @param {Quaternion} [target]
 */
export function avatarRotation(pitch, yaw, roll = 0, target = new Quaternion()) {
  target.setFromAxisAngle(Y, yaw);
  target.multiply(_qa.setFromAxisAngle(X, pitch));
  if (roll) target.multiply(_qa.setFromAxisAngle(Z, -roll));
  return target;
}

/**
 * Idle motion between lines: blinks every few seconds, a slow head sway, small gaze shifts.
 * Pure in its inputs (time and a seeded pseudo-random), so it is reproducible.
 * @param {number} time seconds (any monotonic clock)
 * @param {Float32Array} values written: eyeBlink*, head*, eye* channels (others untouched)
 * @param {number} amount 0..1, how much idle motion to add
 */
export function idleMotion(time, values, amount) {
  if (amount <= 0) return;
  // blinks: one every 2.6 to 5.4 s, 160 ms long, hash-jittered per period
  const period = 4;
  const k = Math.floor(time / period);
  const jitter = fract(Math.sin(k * 12.9898) * 43758.5453) * 2.8 - 1.4;
  const phase = time - (k * period + period / 2 + jitter);
  const blink = phase >= 0 && phase < 0.16 ? Math.sin((phase / 0.16) * Math.PI) : 0;
  values[CHANNEL_INDEX.eyeBlinkLeft] = Math.max(values[CHANNEL_INDEX.eyeBlinkLeft], blink * amount);
  values[CHANNEL_INDEX.eyeBlinkRight] = Math.max(values[CHANNEL_INDEX.eyeBlinkRight], blink * amount);
  const pitch = 0.025 * Math.sin(time * 0.61) + 0.012 * Math.sin(time * 1.37 + 1.1);
  const yaw = 0.05 * Math.sin(time * 0.29 + 0.5) + 0.015 * Math.sin(time * 0.97);
  const roll = 0.015 * Math.sin(time * 0.43 + 2.0);
  values[CHANNEL_INDEX.headPitch] += pitch * amount;
  values[CHANNEL_INDEX.headYaw] += yaw * amount;
  values[CHANNEL_INDEX.headRoll] += roll * amount;
  const gaze = Math.floor(time / 1.7);
  const gx = (fract(Math.sin(gaze * 78.233) * 12345.678) - 0.5) * 0.12;
  const gy = (fract(Math.sin(gaze * 39.425) * 54321.123) - 0.5) * 0.06;
  for (const side of ['left', 'right']) {
    values[CHANNEL_INDEX[`${side}EyeYaw`]] += gx * amount;
    values[CHANNEL_INDEX[`${side}EyePitch`]] += gy * amount;
  }
}

function fract(x) { return x - Math.floor(x); }

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
  constructor(options = {}) {
    this.profileName = options.profile || 'auto';
    this.idle = options.idle !== false;
    /** current value of every channel, indexed like ALL_CHANNELS */
    this.values = new Float32Array(ALL_CHANNELS.length);
    /** @type {RetargetProfile|null} */
    this.profile = null;
    /** @type {Array<{mesh: any, index: number, name: string, terms: Array<[number, number]>}>} */
    this.bindings = [];
    /** @type {Array<{name: string, terms: Array<[number, number]>}>} VRM expressions */
    this.expressions = [];
    this.vrm = null;
    /** @type {Record<string, {node: any, rest: Quaternion, parent: Quaternion, parentInv: Quaternion}>} */
    this.rotationNodes = {};
    this.missingTargets = [];
    this.speakingMix = 0;
    /**
     * Look-at (LookAt.js): a world point to look at (the viewer's camera position, set each frame by
     * AvatarSpeaker), or null. `lookMode`: 'speaking' (blended in while a line plays) or 'always'.
     * @type {Vector3|null}
     */
    this.lookTarget = null;
    this.lookMode = 'speaking';
    this.lookLimits = LOOK_AT_LIMITS;
    /** the look-at offsets and weight applied on the last update (null when none) */
    this.lookOffsets = null;
    this.lookWeight = 0;
  }

  /**
   * Bind to an avatar: an Object3D (a glTF scene) or a three-vrm VRM.
   * @param {any} avatar
   * @returns {FaceDriver}
   */
  attach(avatar) {
    this.detach();
    const isVrm = avatar && avatar.expressionManager && avatar.scene;
    const root = isVrm ? avatar.scene : avatar;
    this.vrm = isVrm ? avatar : null;
    const meshes = [];
    root.traverse((o) => { if (o.morphTargetDictionary && o.morphTargetInfluences) meshes.push(o); });
    const targetNames = new Set(meshes.flatMap((m) => Object.keys(m.morphTargetDictionary)));
    if (isVrm) {
      this.profile = RetargetProfile.get('vrm');
      const names = avatar.expressionManager.expressions?.map((e) => e.expressionName) ?? Object.keys(this.profile.targets);
      this.expressions = names.map((name) => ({ name, terms: this.profile.resolve(name) })).filter((e) => e.terms);
    } else {
      this.profile = this.profileName === 'auto' ? RetargetProfile.auto(targetNames) : RetargetProfile.get(this.profileName);
      for (const mesh of meshes) {
        for (const [name, index] of Object.entries(mesh.morphTargetDictionary)) {
          const terms = this.profile.resolve(name);
          if (terms) this.bindings.push({ mesh, index, name, terms });
        }
      }
      const bound = new Set(this.bindings.map((b) => this.profile.resolve(b.name)));
      this.missingTargets = Object.keys(this.profile.targets).filter((t) => !bound.has(this.profile.targets[t]));
    }
    root.updateMatrixWorld(true);
    for (const role of ['head', 'leftEye', 'rightEye']) {
      let node = null;
      if (isVrm && avatar.humanoid) node = avatar.humanoid.getNormalizedBoneNode?.(role) ?? null;
      for (const name of this.profile.nodes[role] || []) { if (node) break; node = root.getObjectByName(name) ?? null; }
      if (!node) continue;
      const parent = new Quaternion();
      if (node.parent) node.parent.getWorldQuaternion(parent);
      const rootWorld = new Quaternion();
      root.getWorldQuaternion(rootWorld);
      parent.premultiply(rootWorld.invert()); // parent's rest rotation in the avatar's own frame
      this.rotationNodes[role] = { node, rest: node.quaternion.clone(), parent, parentInv: parent.clone().invert() };
    }
    this.root = root;
    return this;
  }

  /** Put every driven target and node back at rest and forget the avatar. */
  detach() {
    if (!this.root) return;
    this.values.fill(0);
    this._apply();
    for (const { node, rest } of Object.values(this.rotationNodes)) node.quaternion.copy(rest);
    this.bindings = [];
    this.expressions = [];
    this.rotationNodes = {};
    this.root = null;
  }

  /**
   * Pose the face for one rendered frame.
   * @param {import('./CurveTrack.js').CurveTrack|null} track the line playing, or null between lines
   * @param {number|null} t seconds of that line's audio heard so far (audio clock), null between lines
   * @param {number} idleTime seconds on any monotonic clock, for idle motion
   * @param {number} [dt=1/60] seconds since the previous update (for the idle cross-fade)
   */
  update(track, t, idleTime, dt = 1 / 60) {
    const values = this.values;
    values.fill(0);
    const speaking = track !== null && t !== null && t >= 0 && track.sampleInto(frameAt(t, track.fps), values);
    const target = speaking ? 1 : 0;
    const step = Math.min(1, Math.max(0, dt) / 0.25);
    this.speakingMix += (target - this.speakingMix) * step;
    if (this.idle) idleMotion(idleTime, values, 1 - this.speakingMix);
    this._lookAt(values);
    this._apply();
    return speaking;
  }

  /** Add the look-at offset toward `lookTarget` on top of the curves' (and idle) head and eye motion. */
  _lookAt(values) {
    this.lookOffsets = null;
    this.lookWeight = 0;
    if (!this.lookTarget || !this.root) return;
    const weight = this.lookMode === 'always' ? 1 : this.speakingMix;
    const head = this.rotationNodes.head ? this.rotationNodes.head.node : this.root;
    head.getWorldPosition(_va);
    this.lookOffsets = lookAtOffsetsFor(this.root, _va, this.lookTarget, this.lookLimits);
    this.lookWeight = weight;
    addLookAt(values, this.lookOffsets, weight);
  }

  /**
   * World position of the mouth: `offset` (in the avatar's own frame and units, +Y up, +Z forward) from
   * the head bone, turning with the head; the root when there is no head bone.
   * @param {Vector3} target written
   * @param {{x: number, y: number, z: number}} offset
   * @returns {Vector3}
   */
  mouthPosition(target, offset) {
    const entry = this.rotationNodes.head;
    if (!entry) return this.root ? this.root.getWorldPosition(target) : target.set(0, 0, 0);
    // the offset in the head's local frame: undo the head's rest rotation in the avatar frame
    _qa.copy(entry.parent).multiply(entry.rest).invert();
    target.set(offset.x, offset.y, offset.z).applyQuaternion(_qa);
    entry.node.updateWorldMatrix(true, false);
    return entry.node.localToWorld(target);
  }

  /**
   * The influence now applied to a morph target of the avatar (first mesh that has it), or null.
   * @param {string} name
   */
  influence(name) {
    const b = this.bindings.find((x) => x.name === name);
    return b ? b.mesh.morphTargetInfluences[b.index] : null;
  }

  _apply() {
    const values = this.values;
    for (const b of this.bindings) b.mesh.morphTargetInfluences[b.index] = RetargetProfile.weight(b.terms, values);
    if (this.vrm) {
      for (const e of this.expressions) this.vrm.expressionManager.setValue(e.name, RetargetProfile.weight(e.terms, values));
    }
    const nodes = this.rotationNodes;
    const c = CHANNEL_INDEX;
    if (nodes.head) this._turn(nodes.head, values[c.headPitch], values[c.headYaw], values[c.headRoll]);
    if (nodes.leftEye) this._turn(nodes.leftEye, values[c.leftEyePitch], values[c.leftEyeYaw], 0);
    if (nodes.rightEye) this._turn(nodes.rightEye, values[c.rightEyePitch], values[c.rightEyeYaw], 0);
  }

  /** local = parent^-1 * delta * parent * rest: the delta turns the node in the avatar's frame. */
  _turn(entry, pitch, yaw, roll) {
    const delta = avatarRotation(pitch, yaw, roll, _qb);
    _qc.copy(entry.parentInv).multiply(delta).multiply(entry.parent).multiply(entry.rest);
    entry.node.quaternion.copy(_qc);
  }
}
