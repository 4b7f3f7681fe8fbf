// VrmDriver without a browser: a stand-in for three-vrm's VRM (expression manager, normalized head bone, look-at)
// holding exactly what VrmDriver may touch. three-vrm itself drives it in tests/test_web_vrm.py.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as THREE from 'three';
import { CurveTrack } from '../src/CurveTrack.js';
import { FaceDriver } from '../src/FaceDriver.js';
import { ALL_CHANNELS, CHANNEL_INDEX } from '../src/RetargetProfile.js';
import { VRM_PRESETS, VrmDriver } from '../src/VrmDriver.js';

const frame = (channels) => {
  const values = new Float32Array(ALL_CHANNELS.length);
  for (const [name, value] of Object.entries(channels)) values[CHANNEL_INDEX[name]] = value;
  return values;
};

/** A three-vrm-shaped VRM with these expressions; `lookAt: false` for a model without one. */
function fakeVrm(names = [...VRM_PRESETS, 'neutral'], { lookAt = true } = {}) {
  const scene = new THREE.Group();
  const head = new THREE.Object3D();
  head.name = 'Normalized_Head';
  head.position.set(0, 1.45, 0);
  scene.add(head);
  const set = new Map(names.map((n) => [n, 0]));
  const calls = [];
  return {
    scene,
    calls,
    expressionManager: {
      getExpression: (name) => (set.has(name) ? { expressionName: name } : null),
      setValue: (name, value) => { if (set.has(name)) { set.set(name, value); calls.push(name); } },
      getValue: (name) => set.get(name) ?? null,
      get expressions() { return [...set.keys()].map((expressionName) => ({ expressionName })); },
    },
    humanoid: { getNormalizedBoneNode: (role) => (role === 'head' ? head : null) },
    lookAt: lookAt ? { yaw: 0, pitch: 0 } : null,
    head,
  };
}

test('each viseme opens its own vowel expression; the consonants add to the nearest vowel', () => {
  const cases = { aa: 'aa', ih: 'ih', ou: 'ou', E: 'ee', oh: 'oh' };
  for (const [viseme, vowel] of Object.entries(cases)) {
    const out = VrmDriver.expressionValues(frame({ [viseme]: 0.8 }));
    for (const name of ['aa', 'ih', 'ou', 'ee', 'oh']) {
      assert.ok(Math.abs(out[name] - (name === vowel ? 0.8 : 0)) < 1e-6, `${viseme} -> ${name}: ${out[name]}`);
    }
  }
  const consonants = VrmDriver.expressionValues(frame({ kk: 1, SS: 1, RR: 1 }));
  assert.ok(Math.abs(consonants.aa - 0.4) < 1e-6 && Math.abs(consonants.ih - 0.5) < 1e-6
    && Math.abs(consonants.ou - 0.5) < 1e-6, JSON.stringify(consonants));
  assert.equal(VrmDriver.expressionValues(frame({ sil: 1, PP: 1 })).aa, 0, 'closures and silence open nothing');
  assert.equal(VrmDriver.expressionValues(frame({ aa: 1, kk: 1, DD: 1 })).aa, 1, 'the sum is clipped at 1');
});

test('blink closes both eyes as far as both agree; blinkLeft/Right add only one eye beyond it', () => {
  const both = VrmDriver.expressionValues(frame({ eyeBlinkLeft: 1, eyeBlinkRight: 1 }));
  assert.deepEqual([both.blink, both.blinkLeft, both.blinkRight], [1, 0, 0]);
  const wink = VrmDriver.expressionValues(frame({ eyeBlinkLeft: 0.75, eyeBlinkRight: 0.25 }));
  assert.deepEqual([wink.blink, wink.blinkLeft, wink.blinkRight], [0.25, 0.5, 0]);
});

test('emotions come from the smile, frown, brow and eye-wide channels', () => {
  const out = VrmDriver.expressionValues(frame({ mouthSmileLeft: 1, mouthSmileRight: 1, browDownLeft: 0.5,
    browDownRight: 0.5, eyeWideLeft: 1, eyeWideRight: 1 }));
  assert.equal(out.happy, 1);
  assert.equal(out.angry, 0.5);
  assert.equal(out.surprised, 1);
  assert.equal(out.sad, 0);
});

test('the gaze becomes the look-at angles in degrees, three-vrm signs (yaw to the left, pitch down)', () => {
  const { yaw, pitch } = VrmDriver.lookAngles(frame({ leftEyeYaw: 0.2, rightEyeYaw: 0.1, leftEyePitch: 0.1,
    rightEyePitch: 0.1 }));
  assert.ok(Math.abs(yaw - 0.15 * 180 / Math.PI) < 1e-4 && Math.abs(pitch - 0.1 * 180 / Math.PI) < 1e-4);
});

test('a curve track drives the expression manager and the look-at, and detach rests them', () => {
  const vrm = fakeVrm();
  const driver = new VrmDriver({ idle: false }).attach(vrm);
  assert.ok(driver instanceof FaceDriver, 'one kind of FaceDriver: AvatarSpeaker can use either');
  assert.ok(!driver.expressionNames.includes('lookUp'), 'with a look-at, the look presets are its to set');
  const track = new CurveTrack(['aa', 'oh', 'eyeBlinkLeft', 'eyeBlinkRight', 'leftEyeYaw', 'rightEyeYaw',
    'headYaw'], 10);
  track.add(0, 2, Float32Array.from([0.6, 0, 1, 1, 0.1, 0.1, 0.2, /* frame 1 */ 0, 0.9, 0, 0, 0, 0, 0]));
  assert.equal(driver.update(track, 0, 0), true);
  assert.ok(Math.abs(driver.expressionValue('aa') - 0.6) < 1e-6);
  assert.equal(driver.expressionValue('blink'), 1);
  assert.ok(Math.abs(vrm.lookAt.yaw - 0.1 * 180 / Math.PI) < 1e-4);
  const turned = new THREE.Vector3(0, 0, 1).applyQuaternion(vrm.head.quaternion);
  assert.ok(turned.x > 0.19 && Math.abs(turned.y) < 1e-6, `headYaw turns the normalized head to its left: ${turned.x}`);
  driver.update(track, 0.1, 0);
  assert.ok(Math.abs(driver.expressionValue('oh') - 0.9) < 1e-6 && driver.expressionValue('aa') === 0);
  assert.equal(driver.expressionValue('blink'), 0);
  driver.detach();
  assert.deepEqual([vrm.lookAt.yaw, vrm.lookAt.pitch], [0, 0]);
  assert.equal(vrm.expressionManager.getValue('oh'), 0);
  assert.ok(vrm.head.quaternion.equals(new THREE.Quaternion()), 'the head is back at rest');
});

test('a VRM 0.x model with fewer presets is driven on those it has; without look-at the look presets are set', () => {
  const vrm = fakeVrm(['aa', 'ih', 'ou', 'ee', 'oh', 'blink', 'happy', 'lookLeft'], { lookAt: false });
  const driver = new VrmDriver({ idle: false }).attach(vrm);
  assert.deepEqual(driver.missingExpressions, ['blinkLeft', 'blinkRight', 'angry', 'sad', 'relaxed', 'surprised',
    'lookUp', 'lookDown', 'lookRight']);
  driver.applyFrame(frame({ ih: 1, eyeLookOutLeft: 1, eyeLookInRight: 1 }));
  assert.equal(vrm.expressionManager.getValue('ih'), 1);
  assert.equal(vrm.expressionManager.getValue('lookLeft'), 1);
  assert.ok(!vrm.calls.some((name) => !driver.expressionNames.includes(name)), 'only presets the model has');
});

test('attach refuses what is not a three-vrm VRM, with what to use instead', () => {
  assert.throws(() => new VrmDriver().attach(new THREE.Group()), /VRM loaded by @pixiv\/three-vrm.*FaceDriver/);
  assert.equal(VrmDriver.isVrm(fakeVrm()), true);
  assert.equal(VrmDriver.isVrm(new THREE.Group()), false);
});

test('AvatarSpeaker drives a three-vrm VRM with a VrmDriver and any other avatar with a FaceDriver', async () => {
  const { AvatarSpeaker } = await import('../src/AvatarSpeaker.js');
  const speaker = new AvatarSpeaker({ connection: /** @type {any} */ ({ close() {} }), idle: false });
  speaker.attach(fakeVrm());
  assert.ok(speaker.face instanceof VrmDriver && speaker.face.idle === false);
  speaker.attach(new THREE.Group());
  assert.ok(!(speaker.face instanceof VrmDriver) && speaker.face instanceof FaceDriver && speaker.face.idle === false);
});
