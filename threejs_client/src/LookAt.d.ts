/**
 * Yaw and pitch that point the avatar's +Z at a direction given in its own frame.
 * @param {{x: number, y: number, z: number}} d direction (need not be unit length)
 * @returns {{yaw: number, pitch: number}} radians; both 0 for a zero vector
 */
export function lookAngles(d: {
    x: number;
    y: number;
    z: number;
}): {
    yaw: number;
    pitch: number;
};
/**
 * Split a gaze shift between head and eyes: the head turns `headShare` of it (clamped to its limits),
 * the eyes turn what is left relative to the head (clamped to theirs). Past both limits the avatar
 * looks as far as it naturally can (it never turns its body).
 * @param {number} yaw radians
 * @param {number} pitch radians
 * @param {typeof LOOK_AT_LIMITS} [limits]
 * @returns {{headYaw: number, headPitch: number, eyeYaw: number, eyePitch: number}}
 */
export function lookOffsets(yaw: number, pitch: number, limits?: typeof LOOK_AT_LIMITS): {
    headYaw: number;
    headPitch: number;
    eyeYaw: number;
    eyePitch: number;
};
/**
 * Add `weight` times the offsets to the channel values (indexed like ALL_CHANNELS): the curves' own
 * head and eye motion stays, the look-at is blended on top.
 * @param {Float32Array} values
 * @param {{headYaw: number, headPitch: number, eyeYaw: number, eyePitch: number}} offsets
 * @param {number} weight 0..1
 */
export function addLookAt(values: Float32Array, offsets: {
    headYaw: number;
    headPitch: number;
    eyeYaw: number;
    eyePitch: number;
}, weight: number): void;
/**
 * The look-at offsets that turn an avatar's face, seen from `from` (a world point on the face, e.g. the
 * head bone), toward the world point `target`, in the frame of `root` (the avatar; its world rotation
 * is taken off, so a turned or moved avatar still looks at the viewer).
 * @param {import('three').Object3D} root
 * @param {import('three').Vector3} from world position
 * @param {import('three').Vector3} target world position
 * @param {typeof LOOK_AT_LIMITS} [limits]
 */
export function lookAtOffsetsFor(root: import("three").Object3D, from: import("three").Vector3, target: import("three").Vector3, limits?: typeof LOOK_AT_LIMITS): {
    headYaw: number;
    headPitch: number;
    eyeYaw: number;
    eyePitch: number;
};
/**
 * Look-at: the avatar turns its head and eyes toward the viewer (the flat camera, or the XR camera in a
 * session). It adds an offset on top of the curves' head and eye channels (their motion stays), split
 * between head and eyes the way people shift their gaze, and clamped to natural limits.
 * Angles follow `avatarRotation` (FaceDriver.js): yaw about +Y (positive turns toward the avatar's +X,
 * its left), pitch about +X (positive looks down), in the avatar's frame (+Y up, facing +Z).
 * @module LookAt
 */
/** Radians. The head takes `headShare` of the angle up to its limits, the eyes the rest up to theirs. */
export const LOOK_AT_LIMITS: Readonly<{
    headYaw: 0.6;
    headPitch: 0.35;
    eyeYaw: 0.45;
    eyePitch: 0.3;
    headShare: 0.6;
}>;
