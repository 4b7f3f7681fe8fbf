// Look-at the viewer (src/LookAt.js and FaceDriver): the angles toward a point, the split between head and
// eyes with natural limits, blended on top of the curves' own head and eye motion.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as THREE from 'three';
import { FaceDriver, avatarRotation } from '../src/FaceDriver.js';
import { LOOK_AT_LIMITS, addLookAt, lookAngles, lookAtOffsetsFor, lookOffsets } from '../src/LookAt.js';
import { ALL_CHANNELS, CHANNEL_INDEX as C } from '../src/RetargetProfile.js';
import { CurveTrack } from '../src/CurveTrack.js';
import { testHead } from '../test-support/fakes.mjs';

const close = (a, b, message, tolerance = 1e-6) => assert.ok(Math.abs(a - b) < tolerance, `${message}: ${a} != ${b}`);

test('lookAngles: yaw and pitch that turn the avatar\'s +Z toward a direction (avatarRotation\'s convention)', () => {
  assert.deepEqual(lookAngles({ x: 0, y: 0, z: 1 }), { yaw: 0, pitch: 0 });
  assert.deepEqual(lookAngles({ x: 0, y: 0, z: 0 }), { yaw: 0, pitch: 0 });
  close(lookAngles({ x: 1, y: 0, z: 1 }).yaw, Math.PI / 4, 'to its left (+X): positive yaw');
  close(lookAngles({ x: -1, y: 0, z: 1 }).yaw, -Math.PI / 4, 'to its right');
  close(lookAngles({ x: 0, y: 1, z: 1 }).pitch, -Math.PI / 4, 'up: negative pitch (positive looks down)');
  close(lookAngles({ x: 0, y: -1, z: 2 }).pitch, Math.atan(0.5), 'down');
  // the rotation built from the angles really points +Z along the direction
  for (const d of [new THREE.Vector3(0.3, -0.2, 1), new THREE.Vector3(-0.5, 0.4, 0.6), new THREE.Vector3(0.1, 0.1, -1)]) {
    const { yaw, pitch } = lookAngles(d);
    const forward = new THREE.Vector3(0, 0, 1).applyQuaternion(avatarRotation(pitch, yaw, 0));
    assert.ok(forward.angleTo(d) < 1e-6, `${d.toArray()} -> ${forward.toArray()}`);
  }
});

test('lookOffsets: the head takes its share, the eyes the rest, each within natural limits', () => {
  const L = LOOK_AT_LIMITS;
  const small = lookOffsets(0.2, -0.1);
  close(small.headYaw, 0.2 * L.headShare, 'head share of the yaw');
  close(small.eyeYaw, 0.2 * (1 - L.headShare), 'the eyes the rest');
  close(small.headPitch + small.eyePitch, -0.1, 'together they look where asked');
  const far = lookOffsets(2.5, -1.5);       // behind and far above: as far as a person turns without the body
  assert.deepEqual(far, { headYaw: L.headYaw, headPitch: -L.headPitch, eyeYaw: L.eyeYaw, eyePitch: -L.eyePitch });
  const left = lookOffsets(-2.5, 1.5);
  assert.deepEqual(left, { headYaw: -L.headYaw, headPitch: L.headPitch, eyeYaw: -L.eyeYaw, eyePitch: L.eyePitch });
});

test('addLookAt adds on top of the curves\' head and eye channels, scaled by the weight', () => {
  const values = new Float32Array(ALL_CHANNELS.length);
  values[C.headYaw] = 0.1;
  values[C.leftEyePitch] = -0.05;
  values[C.jawOpen] = 0.7;
  addLookAt(values, { headYaw: 0.2, headPitch: 0.1, eyeYaw: 0.3, eyePitch: 0.04 }, 0.5);
  close(values[C.headYaw], 0.2, 'curve 0.1 + 0.5 * 0.2');
  close(values[C.headPitch], 0.05, 'head pitch');
  close(values[C.leftEyeYaw], 0.15, 'left eye yaw');
  close(values[C.rightEyeYaw], 0.15, 'right eye yaw');
  close(values[C.leftEyePitch], -0.03, 'curve -0.05 + 0.5 * 0.04');
  close(values[C.jawOpen], 0.7, 'the mouth is untouched');
  const before = Float32Array.from(values);
  addLookAt(values, { headYaw: 1, headPitch: 1, eyeYaw: 1, eyePitch: 1 }, 0);
  assert.deepEqual(values, before);
});

test('lookAtOffsetsFor takes the avatar\'s world rotation off: a turned avatar still looks at the viewer', () => {
  const root = new THREE.Group();
  root.position.set(0, 1.6, -1);
  root.updateMatrixWorld(true);
  const head = new THREE.Vector3(0, 1.6, -1);
  const ahead = lookAtOffsetsFor(root, head, new THREE.Vector3(0, 1.6, 0));      // viewer straight in front
  for (const v of Object.values(ahead)) close(v, 0, 'straight ahead: no offset');
  const toLeft = lookAtOffsetsFor(root, head, new THREE.Vector3(0.5, 1.6, 0));   // viewer at the avatar's left
  assert.ok(toLeft.headYaw > 0 && toLeft.eyeYaw > 0);
  root.rotation.y = Math.PI;  // the avatar turned round: the same viewer is now behind its right shoulder
  root.updateMatrixWorld(true);
  const turned = lookAtOffsetsFor(root, head, new THREE.Vector3(0.5, 1.6, 0));
  assert.equal(turned.headYaw, -LOOK_AT_LIMITS.headYaw);
  const above = lookAtOffsetsFor(new THREE.Group(), new THREE.Vector3(), new THREE.Vector3(0, 1, 1));
  assert.ok(above.headPitch < 0 && above.eyePitch < 0, 'a viewer above: look up (negative pitch)');
});

const avatar = (position) => testHead(position, { eyes: true });

/** A one-line track: constant head yaw 0.1 and jaw 0.5 for a second at 60 fps. */
function track() {
  const t = new CurveTrack(['jawOpen', 'headYaw', 'leftEyeYaw', 'rightEyeYaw'], 60);
  const values = new Float32Array(60 * 4);
  for (let f = 0; f < 60; f++) values.set([0.5, 0.1, 0.02, 0.02], f * 4);
  t.add(0, 60, values);
  return t;
}

test('FaceDriver blends the look-at in while speaking, on top of the curves, and turns the head bone', () => {
  const root = avatar(new THREE.Vector3(0, 1.5, -1));
  const face = new FaceDriver({ idle: false });
  face.attach(root);
  face.lookTarget = new THREE.Vector3(0.6, 1.6, 0);   // the viewer, ahead and to the avatar's left
  const expected = lookAtOffsetsFor(root, new THREE.Vector3(0, 1.6, -1), face.lookTarget);
  face.update(null, null, 0, 1 / 60);                   // silent: no look-at in 'speaking' mode
  assert.equal(face.lookWeight, 0);
  close(face.values[C.headYaw], 0, 'no offset while silent');
  const line = track();
  for (let i = 0; i < 120; i++) face.update(line, (i % 60) / 60, 0, 1 / 60);   // two seconds of speech: blended in
  assert.ok(face.lookWeight > 0.99, `weight ${face.lookWeight}`);
  const w = face.lookWeight;
  close(face.values[C.headYaw], 0.1 + w * expected.headYaw, 'the curve\'s yaw plus the look-at', 1e-5);
  close(face.values[C.leftEyeYaw], 0.02 + w * expected.eyeYaw, 'the curve\'s eye yaw plus the look-at', 1e-5);
  close(face.influence('jawOpen'), 0.5, 'the mouth follows the curves as before');
  // the head bone really turned toward the viewer: its forward is closer to the viewer than at rest
  const headNode = root.getObjectByName('Head');
  headNode.updateWorldMatrix(true, false);
  const forward = new THREE.Vector3(0, 0, 1).transformDirection(headNode.matrixWorld);
  const toViewer = face.lookTarget.clone().sub(headNode.getWorldPosition(new THREE.Vector3()));
  assert.ok(forward.angleTo(toViewer) < new THREE.Vector3(0, 0, 1).angleTo(toViewer) - 0.2);
  face.lookMode = 'always';
  face.update(null, null, 0, 1 / 60);
  assert.equal(face.lookWeight, 1);
  face.lookTarget = null;
  face.update(null, null, 0, 1 / 60);
  assert.equal(face.lookOffsets, null);
  close(face.values[C.headYaw], 0, 'off: the curves alone');
});

test('mouthPosition follows the head bone: it moves with the avatar and turns with the head', () => {
  const root = avatar(new THREE.Vector3(0, 1.5, -1));
  const face = new FaceDriver({ idle: false });
  face.attach(root);
  const offset = { x: 0, y: 0.03, z: 0.09 };
  const p = face.mouthPosition(new THREE.Vector3(), offset);
  close(p.x, 0, 'x');
  close(p.y, 1.63, 'head bone at 1.6, mouth 3 cm above it');
  close(p.z, -0.91, 'and 9 cm in front');
  root.position.x += 0.5;
  close(face.mouthPosition(new THREE.Vector3(), offset).x, 0.5, 'moves with the avatar');
  const line = new CurveTrack(['headYaw'], 60);
  line.add(0, 2, Float32Array.from([Math.PI / 2, Math.PI / 2]));
  face.update(line, 0, 0, 1);                // the head turned 90 degrees to its left
  const turned = face.mouthPosition(new THREE.Vector3(), offset);
  close(turned.x, 0.5 + 0.09, 'the mouth went round to +X with the head');
  close(turned.z, -1, 'and is level with the head bone in z');
});
