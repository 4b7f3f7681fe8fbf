// What the client does when an audio chunk arrives late (an underrun), on a clock the test controls:
// the stream re-anchors (a gap, never an overlap; the rest plays back to back from the new anchor) and
// the face follows the sound: it holds still through the gap and moves on when the late chunk sounds.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as THREE from 'three';
import { AudioStream } from '../src/AudioStream.js';
import { AvatarSpeaker } from '../src/AvatarSpeaker.js';
import { heardTime } from '../src/clock.js';
import { FakeConnection, jawMesh } from '../test-support/fakes.mjs';

const SR = 1000;  // samples per second: 100-sample chunks last 0.1 s
const LEAD = 0.05;
const close = (a, b, message, tolerance = 1e-9) => assert.ok(Math.abs(a - b) < tolerance, `${message}: ${a} != ${b}`);
const closeF32 = (a, b, message) => close(a, b, message, 1e-6);  // curve values are float32

/** The parts of an AudioContext that AudioStream uses; `currentTime` is set by the test. */
class FakeAudioContext {
  constructor() {
    this.currentTime = 0;
    this.outputLatency = 0;
    this.state = 'running';
    this.destination = {};
    /** @type {Array<{when: number, duration: number}>} every source started */
    this.started = [];
  }

  createGain() {
    return { gain: { value: 1, setValueAtTime() {}, linearRampToValueAtTime() {} }, connect() {}, disconnect() {} };
  }

  createBuffer(channels, length, sampleRate) {
    return { length, sampleRate, duration: length / sampleRate, copyToChannel() {} };
  }

  createBufferSource() {
    const context = this;
    return {
      buffer: null, onended: null, connect() {}, stop() {},
      start(when) { context.started.push({ when, duration: this.buffer.duration }); },
    };
  }
}


const pcm = (samples) => new Uint8Array(2 * samples).fill(1);

test('a late chunk re-anchors the stream: a gap, never an overlap, then back to back again', () => {
  const context = new FakeAudioContext();
  const stream = new AudioStream(context, { lead: LEAD });
  const arrivals = [[0, 1.0], [100, 1.1], [200, 1.4], [300, 1.42], [400, 1.5]];  // chunk 200 was due at 1.25
  for (const [offset, now] of arrivals) {
    context.currentTime = now;
    stream.push(offset, pcm(100), SR);
  }
  assert.equal(stream.underruns, 1);
  assert.deepEqual(stream.schedule.map((c) => c.late), [false, false, true, false, false]);
  const when = stream.schedule.map((c) => c.when);
  close(when[0], 1.05, 'the first chunk starts lead seconds after it arrives');
  close(when[1], 1.15, 'in time: back to back');
  close(when[2], 1.45, 'late: it starts lead seconds after it arrives');
  assert.ok(when[2] > when[1] + 0.1, 'a gap after the chunk before it, never an overlap');
  close(when[3], 1.55, 'back to back from the new anchor');
  close(when[4], 1.65, 'back to back from the new anchor');
  assert.deepEqual(context.started.map((s) => s.when), when);  // what WebAudio was told
  close(stream.streamStart, 1.25, 'the anchor moved by the gap (0.2 s)');
});

test('the position holds through the gap and follows the new anchor when the late chunk sounds', () => {
  const context = new FakeAudioContext();
  const stream = new AudioStream(context, { lead: LEAD });
  const at = (now) => { context.currentTime = now; return stream.position(); };
  at(1.0);
  stream.push(0, pcm(100), SR);
  at(1.1);
  stream.push(100, pcm(100), SR);
  close(at(1.2), 0.15, 'in time: context time - anchor');
  close(at(1.25), 0.2, 'the end of the audio scheduled');
  close(at(1.3), 0.2, 'the next chunk is late: the position holds (silence)');
  close(at(1.4), 0.2, 'still holding when the late chunk arrives');
  stream.push(200, pcm(100), SR);  // starts at 1.45
  close(at(1.4), 0.2, 'it waits at the late chunk start until it sounds (never back in time)');
  close(at(1.45), 0.2, 'the late chunk sounds');
  close(at(1.5), 0.25, 'and the position runs on the new anchor');
  assert.equal(stream.finished, false);
  close(at(1.6), 0.3, 'at most the audio scheduled');
  // the pure function behind it
  assert.equal(heardTime(0.1, -Infinity, 0.2), 0.1);
  assert.equal(heardTime(0.3, -Infinity, 0.2), 0.2);
  assert.equal(heardTime(0.15, 0.2, 0.3), 0.2);
  assert.equal(heardTime(-0.05, -Infinity, 0.1), -0.05);
});

function avatar() {
  const root = new THREE.Group();
  root.add(jawMesh());
  return root;
}

test('the face follows the re-anchored audio clock through an underrun', async () => {
  const context = new FakeAudioContext();
  const connection = new FakeConnection();
  const speaker = new AvatarSpeaker({ connection, audioContext: context, idle: false, lead: LEAD });
  speaker.attach(avatar());
  const fps = 100;  // one curve frame per 10 samples; jawOpen = frame / 100 = line time in seconds
  const done = speaker.speak('A line.');
  await new Promise((resolve) => setImmediate(resolve));  // the speak request goes out
  const id = connection.sent[0].id;
  const deliver = (header, payloads) => connection.deliver({ id, ...header }, payloads);
  deliver({ type: 'start', sample_rate: SR, fps, curve_format: 'f32', groups: [{ name: 'blendshapes', channels: ['jawOpen'] }] });
  const chunk = (offset) => {
    const values = Float32Array.from({ length: 10 }, (_, k) => (offset / 10 + k) / 100);
    deliver({ type: 'frames', start_frame: offset / 10, num_frames: 10, num_channels: 1 }, [new Uint8Array(values.buffer)]);
    deliver({ type: 'audio', sample_offset: offset, num_samples: 100 }, [pcm(100)]);
  };
  const face = (now) => {
    context.currentTime = now;
    const info = speaker.update();
    return { t: info.t, jaw: speaker.face.influence('jawOpen') };
  };
  context.currentTime = 1.0;
  chunk(0);
  context.currentTime = 1.1;
  chunk(100);
  let f = face(1.2);
  close(f.t, 0.15, 'in time');
  closeF32(f.jaw, 0.15, 'the face shows the frame at the audio heard');
  f = face(1.35);  // chunk 200 was due at 1.25: an underrun
  close(f.t, 0.2, 'the face holds at the end of the sound');
  closeF32(f.jaw, 0.19, 'on the last frame received (frame 19)');
  context.currentTime = 1.4;
  chunk(200);  // late: re-anchored to start at 1.45
  assert.equal(speaker.line.stream.underruns, 1);
  close(face(1.42).t, 0.2, 'holding until the late chunk sounds');
  f = face(1.5);
  close(f.t, 0.25, 'then the face runs on the new anchor');
  closeF32(f.jaw, 0.25, 'showing the frame of the sound heard');
  deliver({ type: 'end', status: 'ok', stats: { audio_samples: 300 } });
  face(1.8);  // everything heard: the line ends
  const result = await done;
  assert.equal(result.status, 'ok');
  assert.equal(result.underruns, 1);
  assert.deepEqual(result.schedule.map((c) => c.late), [false, false, true]);
});
