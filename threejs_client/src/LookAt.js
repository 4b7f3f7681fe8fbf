import { Quaternion, Vector3 } from 'three';
import { CHANNEL_INDEX } from './RetargetProfile.js';

/**
 * Look-at: the avatar turns its head and eyes toward the viewer (the flat camera, or the XR camera in a
 * session). It adds an offset on top of the curves' head and eye channels (their motion stays), split
 * between head and eyes the way people shift their gaze, and clamped to natural limits.
 * Angles follow `avatarRotation` (FaceDriver.js): yaw about +Y (positive turns toward the avatar's +X,
 * its left), pitch about +X (positive looks down), in the avatar's frame (+Y up, facing +Z).
 * @module LookAt
 */

/** Radians. The head takes `headShare` of the angle up to its limits, the eyes the rest up to theirs. */
export const LOOK_AT_LIMITS = Object.freeze({ headYaw: 0.6, headPitch: 0.35, eyeYaw: 0.45, eyePitch: 0.3, headShare: 0.6 });

const clamp = (x, limit) => Math.max(-limit, Math.min(limit, x));

/**
 * Yaw and pitch that point the avatar's +Z at a direction given in its own frame.
 * @param {{x: number, y: number, z: number}} d direction (need not be unit length)
 * @returns {{yaw: number, pitch: number}} radians; both 0 for a zero vector
 */
export function lookAngles(d) {
  const flat = Math.hypot(d.x, d.z);
  if (flat === 0 && d.y === 0) return { yaw: 0, pitch: 0 };
  return { yaw: Math.atan2(d.x, d.z) + 0, pitch: Math.atan2(-d.y, flat) + 0 };  // + 0: never -0
}

/**
 * Split a gaze shift between head and eyes: the head turns `headShare` of it (clamped to its limits),
 * the eyes turn what is left relative to the head (clamped to theirs). Past both limits the avatar
 * looks as far as it naturally can (it never turns its body).
 * @param {number} yaw radians
 * @param {number} pitch radians
 * @param {typeof LOOK_AT_LIMITS} [limits]
 * @returns {{headYaw: number, headPitch: number, eyeYaw: number, eyePitch: number}}
 */
export function lookOffsets(yaw, pitch, limits = LOOK_AT_LIMITS) {
  const headYaw = clamp(yaw * limits.headShare, limits.headYaw);
  const headPitch = clamp(pitch * limits.headShare, limits.headPitch);
  return { headYaw, headPitch, eyeYaw: clamp(yaw - headYaw, limits.eyeYaw), eyePitch: clamp(pitch - headPitch, limits.eyePitch) };
}

/**
 * Add `weight` times the offsets to the channel values (indexed like ALL_CHANNELS): the curves' own
 * head and eye motion stays, the look-at is blended on top.
 * @param {Float32Array} values
 * @param {{headYaw: number, headPitch: number, eyeYaw: number, eyePitch: number}} offsets
 * @param {number} weight 0..1
 */
export function addLookAt(values, offsets, weight) {
  if (!(weight > 0)) return;
  const c = CHANNEL_INDEX;
  values[c.headYaw] += weight * offsets.headYaw;
  values[c.headPitch] += weight * offsets.headPitch;
  for (const side of ['left', 'right']) {
    values[c[`${side}EyeYaw`]] += weight * offsets.eyeYaw;
    values[c[`${side}EyePitch`]] += weight * offsets.eyePitch;
  }
}

const _from = new Vector3();
const _q = new Quaternion();

/**
 * The look-at offsets that turn an avatar's face, seen from `from` (a world point on the face, e.g. the
 * head bone), toward the world point `target`, in the frame of `root` (the avatar; its world rotation
 * is taken off, so a turned or moved avatar still looks at the viewer).
 * @param {import('three').Object3D} root
 * @param {import('three').Vector3} from world position
 * @param {import('three').Vector3} target world position
 * @param {typeof LOOK_AT_LIMITS} [limits]
 */
export function lookAtOffsetsFor(root, from, target, limits = LOOK_AT_LIMITS) {
  root.getWorldQuaternion(_q).invert();
  _from.subVectors(target, from).applyQuaternion(_q);
  const { yaw, pitch } = lookAngles(_from);
  return lookOffsets(yaw, pitch, limits);
}
