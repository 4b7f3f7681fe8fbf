import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as THREE from 'three';
import { CurveTrack } from '../src/CurveTrack.js';
import { avatarRotation, FaceDriver } from '../src/FaceDriver.js';
import { ALL_CHANNELS, CHANNEL_INDEX, RetargetProfile } from '../src/RetargetProfile.js';
import { ARKIT_BLENDSHAPES, OCULUS_VISEMES } from '../src/generated/vocabulary.js';

function meshWith(names) {
  const geometry = new THREE.BufferGeometry();
  geometry.setAttribute('position', new THREE.Float32BufferAttribute([0, 0, 0, 1, 0, 0, 0, 1, 0], 3));
  geometry.morphAttributes.position = names.map(() => new THREE.Float32BufferAttribute(new Array(9).fill(0), 3));
  const mesh = new THREE.Mesh(geometry, new THREE.MeshBasicMaterial());
  mesh.morphTargetDictionary = Object.fromEntries(names.map((n, i) => [n, i]));
  mesh.morphTargetInfluences = names.map(() => 0);
  return mesh;
}

test('auto picks the profile that drives most targets', () => {
  assert.equal(RetargetProfile.auto(ARKIT_BLENDSHAPES).name, 'arkit');
  assert.equal(RetargetProfile.auto([...ARKIT_BLENDSHAPES, ...OCULUS_VISEMES.map((v) => `viseme_${v}`)]).name, 'arkit');
  assert.equal(RetargetProfile.auto(['viseme_PP', 'viseme_aa', 'viseme_O', 'eyeBlinkLeft']).name, 'oculus');
  assert.equal(RetargetProfile.auto(['aa', 'ih', 'ou', 'ee', 'oh', 'blink']).name, 'vrm');
});

test('names match exactly, case-insensitively, then without a DCC prefix', () => {
  const arkit = RetargetProfile.get('arkit');
  assert.deepEqual(arkit.resolve('jawOpen'), [[CHANNEL_INDEX.jawOpen, 1]]);
  assert.deepEqual(arkit.resolve('JAWOPEN'), [[CHANNEL_INDEX.jawOpen, 1]]);
  assert.deepEqual(arkit.resolve('blendShape1.jawOpen'), [[CHANNEL_INDEX.jawOpen, 1]]);
  assert.deepEqual(arkit.resolve('Face|jawOpen'), [[CHANNEL_INDEX.jawOpen, 1]]);
  assert.equal(arkit.resolve('somethingElse'), null);
  assert.throws(() => RetargetProfile.get('nope'), /unknown retarget profile/);
});

test('a target weight is the clipped weighted sum of its channels (vrm aa)', () => {
  const vrm = RetargetProfile.get('vrm');
  const values = new Float32Array(ALL_CHANNELS.length);
  values[CHANNEL_INDEX.aa] = 0.5;
  values[CHANNEL_INDEX.kk] = 0.5; // 0.4 weight
  assert.ok(Math.abs(RetargetProfile.weight(vrm.resolve('aa'), values) - 0.7) < 1e-6);
  values[CHANNEL_INDEX.aa] = 1;
  assert.equal(RetargetProfile.weight(vrm.resolve('aa'), values), 1);
});

test('the face driver applies sampled curves to morph influences and rotates the head', () => {
  const root = new THREE.Group();
  const mesh = meshWith(['viseme_PP', 'viseme_aa', 'eyeBlinkLeft', 'mouthSmile']);
  const head = new THREE.Object3D();
  head.name = 'Head';
  root.add(mesh, head);
  const driver = new FaceDriver({ idle: false }).attach(root);
  assert.equal(driver.profile.name, 'oculus');
  const track = new CurveTrack(['PP', 'aa', 'mouthSmileLeft', 'mouthSmileRight', 'headYaw'], 60);
  // frame 0: PP closed; frame 1: aa open, smiling, head turned
  track.add(0, 2, Float32Array.from([1, 0, 0, 0, 0, 0, 1, 0.4, 0.6, 0.3]));
  driver.update(track, 0.5 / 60, 0); // halfway between frames
  assert.ok(Math.abs(driver.influence('viseme_PP') - 0.5) < 1e-6);
  assert.ok(Math.abs(driver.influence('viseme_aa') - 0.5) < 1e-6);
  assert.ok(Math.abs(driver.influence('mouthSmile') - 0.25) < 1e-6);
  driver.update(track, 1 / 60, 0);
  assert.ok(Math.abs(driver.influence('mouthSmile') - 0.5) < 1e-6);
  const expected = avatarRotation(0, 0.3, 0);
  assert.ok(head.quaternion.angleTo(expected) < 1e-6);
  // between lines (no track) the mouth rests
  driver.update(null, null, 0);
  assert.equal(driver.influence('viseme_aa'), 0);
  driver.detach();
  assert.ok(head.quaternion.angleTo(new THREE.Quaternion()) < 1e-9);
});

test('rotations follow docs/export.md: pitch positive looks down, yaw positive turns to the left', () => {
  const forward = new THREE.Vector3(0, 0, 1);
  assert.ok(forward.clone().applyQuaternion(avatarRotation(0.3, 0)).y < 0);
  assert.ok(forward.clone().applyQuaternion(avatarRotation(0, 0.3)).x > 0);
});

test('head rotation goes through a turned parent (avatar frame, not local frame)', () => {
  const root = new THREE.Group();
  const armature = new THREE.Object3D();
  armature.quaternion.setFromAxisAngle(new THREE.Vector3(1, 0, 0), -Math.PI / 2); // Blender-style
  const head = new THREE.Object3D();
  head.name = 'Head';
  root.add(armature);
  armature.add(head);
  const driver = new FaceDriver({ idle: false, profile: 'arkit' }).attach(root);
  const track = new CurveTrack(['headYaw'], 60);
  track.add(0, 1, Float32Array.from([0.4]));
  driver.update(track, 0, 0);
  root.updateMatrixWorld(true);
  const world = head.getWorldQuaternion(new THREE.Quaternion());
  const restWorld = armature.quaternion.clone();
  const delta = world.multiply(restWorld.invert());
  assert.ok(delta.angleTo(avatarRotation(0, 0.4, 0)) < 1e-6);
});

test('idle motion blinks and sways between lines only', () => {
  const root = new THREE.Group();
  root.add(meshWith(ARKIT_BLENDSHAPES));
  const driver = new FaceDriver().attach(root);
  let blinked = 0;
  for (let i = 0; i < 60 * 12; i++) {
    driver.update(null, null, i / 60, 1 / 60);
    blinked = Math.max(blinked, driver.influence('eyeBlinkLeft'));
    assert.equal(driver.influence('jawOpen'), 0);
  }
  assert.ok(blinked > 0.9, `max blink ${blinked}`);
});
