// The speaker on an XR frame loop (renderer.setAnimationLoop at the headset's rate, with the XRFrame's own
// timestamps), on a clock the test controls: the face is sampled at the audio clock whatever the loop's
// time says; nothing calls requestAnimationFrame; the voice follows the mouth and the listener the camera
// (the XR camera while a session presents); `spatial: false` keeps plain stereo.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as THREE from 'three';
import { AvatarSpeaker, frameDelta } from '../src/AvatarSpeaker.js';
import { FakeConnection, testHead } from '../test-support/fakes.mjs';

const SR = 1000;
const close = (a, b, message, tolerance = 1e-9) => assert.ok(Math.abs(a - b) < tolerance, `${message}: ${a} != ${b}`);

/** An AudioParam-like value. */
const param = (value = 0) => ({ value });

/** The parts of an AudioContext the speaker uses, with the audio graph recorded; `currentTime` set by the test. */
class FakeAudioContext {
  constructor() {
    this.currentTime = 0;
    this.outputLatency = 0.02;
    this.state = 'running';
    this.destination = { name: 'destination' };
    this.listener = { positionX: param(), positionY: param(), positionZ: param(), forwardX: param(), forwardY: param(),
      forwardZ: param(-1), upX: param(), upY: param(1), upZ: param() };
    this.panners = [];
  }

  node(extra = {}) {
    return { outputs: [], connect(to) { this.outputs.push(to); }, disconnect() { this.outputs = []; }, ...extra };
  }

  createGain() { return this.node({ gain: { value: 1, setValueAtTime() {}, linearRampToValueAtTime() {} } }); }

  createPanner() {
    const panner = this.node({ positionX: param(), positionY: param(), positionZ: param() });
    this.panners.push(panner);
    return panner;
  }

  createBuffer(channels, length, sampleRate) {
    return { length, sampleRate, duration: length / sampleRate, copyToChannel() {} };
  }

  createBufferSource() { return this.node({ buffer: null, onended: null, stop() {}, start() {} }); }
}


const avatar = (position) => testHead(position);

/** Start a 3-second line whose jawOpen = line time / 3 (fps 100), all of it delivered at context time 1.0. */
async function startLine(speaker, connection, context) {
  const done = speaker.speak('A line.');
  await new Promise((resolve) => setImmediate(resolve));
  const id = connection.sent[0].id;
  const deliver = (header, payloads = []) => connection.handlers.get(id)({ id, ...header }, payloads);
  context.currentTime = 1.0;
  deliver({ type: 'start', sample_rate: SR, fps: 100, curve_format: 'f32', groups: [{ name: 'blendshapes', channels: ['jawOpen'] }] });
  const values = Float32Array.from({ length: 300 }, (_, f) => f / 100 / 3);
  deliver({ type: 'frames', start_frame: 0, num_frames: 300, num_channels: 1 }, [new Uint8Array(values.buffer)]);
  deliver({ type: 'audio', sample_offset: 0, num_samples: 3000 }, [new Uint8Array(6000).fill(1)]);
  return { done, deliver };
}

for (const hz of [72, 90, 120]) {
  test(`at ${hz} Hz on XR frame timestamps the face is sampled at the audio clock, never the loop's time`, async (t) => {
    const raf = globalThis.requestAnimationFrame;
    globalThis.requestAnimationFrame = () => { throw new Error('requestAnimationFrame called'); };
    t.after(() => { globalThis.requestAnimationFrame = raf; });
    const context = new FakeAudioContext();
    const connection = new FakeConnection();
    const speaker = new AvatarSpeaker({ connection, audioContext: context, idle: false });
    speaker.attach(avatar(new THREE.Vector3()));
    await startLine(speaker, connection, context);
    const streamStart = speaker.line.stream.streamStart;
    close(streamStart, 1.05, 'first chunk lead seconds after it came');
    // the XR loop: its timestamps run on the headset's clock (any origin, jittered frame to frame), and the
    // audio clock runs at its own pace (here 0.3% slower, and the loop once stalls for 200 ms)
    let xrTime = 987654.321;
    let audio = 1.1;
    for (let frame = 0; frame < hz * 2; frame++) {
      xrTime += 1000 / hz + (frame % 3) * 0.7;
      audio += (frame === hz ? 0.2 : 1 / hz) * 0.997;
      context.currentTime = audio;
      const info = speaker.update(xrTime);
      const heard = audio - streamStart - context.outputLatency;
      close(info.t, heard, `frame ${frame}: line time = context time - stream start - output latency`);
      close(info.contextTime, audio, 'read at the context time');
      close(speaker.face.influence('jawOpen'), heard / 3, `frame ${frame}: the curve at the audio heard`, 1e-6);
      assert.equal(info.time, xrTime);
      assert.equal(info.speaking, true);
    }
  });
}

test('frameDelta: the loop\'s step for the idle blend, never negative, at most 0.25 s after a pause', () => {
  assert.equal(frameDelta(null, 5000), 1 / 60);
  close(frameDelta(1000, 1000 + 1000 / 90), 1 / 90, '90 Hz');
  assert.equal(frameDelta(1000, 999), 0);
  assert.equal(frameDelta(1000, 4000), 0.25);
});

test('spatial: the voice goes through an HRTF panner at the mouth; the listener follows the camera, the XR one in a session', async () => {
  const context = new FakeAudioContext();
  const connection = new FakeConnection();
  const speaker = new AvatarSpeaker({ connection, audioContext: context, idle: false });
  const root = avatar(new THREE.Vector3(0, 1.5, -1));
  speaker.attach(root);
  const camera = new THREE.PerspectiveCamera();
  camera.position.set(0, 1.6, 0.5);
  const xrCamera = new THREE.ArrayCamera();
  xrCamera.matrixWorld.makeTranslation(0.3, 1.7, 0);  // as the renderer sets it from the viewer pose
  const renderer = { xr: { isPresenting: false, getCamera: () => xrCamera } };
  speaker.attachTo(renderer, camera);
  assert.equal(speaker.spatial, true, 'on by default once there is a viewer');
  await startLine(speaker, connection, context);
  const [panner] = context.panners;
  assert.equal(panner.panningModel, 'HRTF');
  assert.deepEqual(panner.outputs, [context.destination]);
  assert.deepEqual(speaker.line.stream.gain.outputs, [speaker._route], 'the line goes to the route');
  assert.deepEqual(speaker._route.outputs, [panner], 'and the route to the panner');
  context.currentTime = 1.2;
  let info = speaker.update(0);
  const mouth = speaker.face.mouthPosition(new THREE.Vector3(), speaker.mouthOffset);
  close(panner.positionX.value, mouth.x, 'panner x at the mouth');
  close(panner.positionY.value, mouth.y, 'panner y');
  close(panner.positionZ.value, mouth.z, 'panner z');
  assert.deepEqual(info.mouth, { x: mouth.x, y: mouth.y, z: mouth.z });
  close(context.listener.positionZ.value, 0.5, 'listener at the flat camera');
  root.position.x = 0.4;                       // the avatar moves: the voice goes with it on the next frame
  info = speaker.update(11);
  const moved = speaker.face.mouthPosition(new THREE.Vector3(), speaker.mouthOffset);
  close(panner.positionX.value, moved.x, 'the voice follows the head (which also turned to look at the camera)');
  close(panner.positionZ.value, moved.z, 'z too');
  close(moved.x, 0.4 + mouth.x, 'moved with the avatar', 0.05);
  renderer.xr.isPresenting = true;              // in a session: the XR camera is the listener and the look-at target
  info = speaker.update(22);
  close(context.listener.positionX.value, 0.3, 'listener x at the XR camera');
  close(context.listener.positionY.value, 1.7, 'listener y at the XR camera');
  assert.equal(speaker.face.lookTarget.x, 0.3);
  assert.ok(info.look && info.look.headYaw < 0, 'the viewer is to the avatar\'s right (-X): it turns that way');
  speaker.spatial = false;                      // plain stereo from the next frame, even mid-line
  speaker.update(33);
  assert.deepEqual(speaker._route.outputs, [context.destination]);
  speaker.interrupt();
});

test('spatial: false keeps plain stereo (no panner), and without a viewer nothing changes from before', async () => {
  for (const options of [{ spatial: false, viewer: new THREE.PerspectiveCamera() }, {}]) {
    const context = new FakeAudioContext();
    const connection = new FakeConnection();
    const speaker = new AvatarSpeaker({ connection, audioContext: context, idle: false, ...options });
    speaker.attach(avatar(new THREE.Vector3()));
    await startLine(speaker, connection, context);
    context.currentTime = 1.2;
    const info = speaker.update();
    assert.equal(context.panners.length, 0);
    assert.deepEqual(speaker._route.outputs, [context.destination]);
    assert.equal(info.mouth, null);
    assert.equal(info.look === null, !options.viewer, 'look-at only with a viewer');
    speaker.interrupt();
  }
});
