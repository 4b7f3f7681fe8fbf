import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as THREE from 'three';
import { decodeFrame, encodeFrame } from '../src/Connection.js';
import { CurveTrack } from '../src/CurveTrack.js';
import { LinearResampler } from '../src/LinearResampler.js';
import { LIVE_CHANNELS, LiveListener, listenHeader, pushHeader } from '../src/LiveListener.js';
import { floatToInt16, liveSampleRate, pcm16leBytes, pieceSamples } from '../src/pcm.js';
import { encode } from '../src/MsgPack.js';

const VISEMES = ['sil', 'PP', 'FF', 'TH', 'DD', 'kk', 'CH', 'SS', 'nn', 'RR', 'aa', 'E', 'ih', 'oh', 'ou'];

/** Records what the listener sends (through the real frame encoding) and lets a test answer as the daemon. */
class FakeConnection {
  constructor(limits = { max_push_s: 1, max_pending_pushes: 32 }) {
    this.sent = [];
    this.streams = new Map();
    this.welcome = { type: 'welcome', limits };
    this.connected = true;
    this.timeout = 1000;
    this.ids = 0;
  }

  open() { return Promise.resolve(this.welcome); }
  newId(prefix) { this.ids += 1; return `${prefix}${this.ids}`; }
  stream(id, handler) { this.streams.set(id, handler); }
  forget(id) { this.streams.delete(id); }
  close() { this.connected = false; }

  send(header, payload) {
    const bytes = payload === undefined ? encodeFrame(header) : encodeFrame(header, payload);
    this.sent.push(decodeFrame(bytes.slice()));  // a copy: what went over the wire
  }

  /** A daemon message, through the real decoder. */
  deliver(header, payloads = []) {
    const { header: h, payloads: p } = decodeFrame(encode([{ v: 1, ...header }, ...payloads]));
    const handler = this.streams.get(h.id);
    if (h.type === 'end' || h.type === 'error') this.streams.delete(h.id);
    if (handler) handler(h, p);
  }

  pushes() { return this.sent.filter((m) => m.header.type === 'push'); }
}

function startHeader(id, { sampleRate = 16000, fps = 60, maxDelay = 0.0575, groups = null } = {}) {
  const g = groups || [{ name: 'visemes', channels: VISEMES }, { name: 'blendshapes', channels: ['jawOpen', 'mouthClose'] }];
  return { type: 'start', id, seq: 0, model: 'audio2face', voice: null, sample_rate: sampleRate, fps, audio_format: 'pcm16le',
    curve_format: 'f32', groups: g, num_channels: g.reduce((n, x) => n + x.channels.length, 0),
    max_delay_s: maxDelay, max_delay_samples: Math.ceil(maxDelay * sampleRate) };
}

/** A frames message: `count` frames from `start`, every column `value` (jawOpen the frame number / 100). */
function framesMessage(id, start, count, samplesIn, numChannels = 17) {
  const values = new Float32Array(count * numChannels);
  for (let f = 0; f < count; f++) {
    values[f * numChannels + 10] = 0.8;                       // aa
    values[f * numChannels + 15] = (start + f) / 100;         // jawOpen
  }
  return [{ type: 'frames', id, start_frame: start, num_frames: count, num_channels: numChannels,
    sample_offset: Math.ceil((start * 16000) / 60), samples_in: samplesIn }, [new Uint8Array(values.buffer)]];
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 0));

async function started(listener, connection, options = {}, headerOptions = {}) {
  const promise = listener.start(null, options);
  await tick();
  const listen = connection.sent.at(-1).header;
  connection.deliver(startHeader(listen.id, { sampleRate: listen.sample_rate, ...headerOptions }));
  return { info: await promise, id: listen.id, listen };
}

test('listen and push messages: headers, pcm16le payload as bin', () => {
  assert.deepEqual(listenHeader('l1', 48000, { fps: 30, emotion: 'happy', seed: 3 }), {
    type: 'listen', id: 'l1', sample_rate: 48000, audio_format: 'pcm16le', fps: 30, channels: [...LIVE_CHANNELS],
    emotion: 'happy', seed: 3 });
  assert.deepEqual(pushHeader('l1'), { type: 'push', id: 'l1' });
  assert.deepEqual(pushHeader('l1', true), { type: 'push', id: 'l1', last: true });
  const pcm = Int16Array.from([0, 1, -1, 32767, -32768]);
  const frame = decodeFrame(encodeFrame(pushHeader('l1'), pcm16leBytes(pcm)));
  assert.deepEqual(frame.header, { v: 1, type: 'push', id: 'l1' });
  assert.equal(frame.payloads.length, 1);
  assert.deepEqual([...frame.payloads[0]], [0, 0, 1, 0, 0xff, 0xff, 0xff, 0x7f, 0x00, 0x80]);  // little-endian
  // a header alone is still [header]
  assert.equal(decodeFrame(encodeFrame({ type: 'ping' })).payloads.length, 0);
});

test('pcm helpers: clipping, rates, piece sizes', () => {
  assert.deepEqual([...floatToInt16(Float32Array.from([0, 1, -1, 2, -2, 0.5, NaN]))], [0, 32767, -32768, 32767, -32768, 16384, 0]);
  assert.equal(liveSampleRate(48000), 48000);
  assert.equal(liveSampleRate(44100), 44100);
  assert.equal(liveSampleRate(96000), 48000);
  assert.equal(liveSampleRate(192000), 48000);
  assert.equal(liveSampleRate(3000), 8000);
  assert.equal(pieceSamples(48000, 20), 960);
  assert.equal(pieceSamples(44100, 20), 882);
});

test('the resampler keeps the input clock whatever the block sizes', () => {
  const from = 96000;
  const input = Float32Array.from({ length: 9600 }, (_, i) => Math.sin((2 * Math.PI * 440 * i) / from));
  const whole = new LinearResampler(from, 48000).process(input);
  let at = 0;
  const r2 = new LinearResampler(from, 48000);
  const chunks = [];
  for (const size of [1, 127, 128, 1000, 3, 8341]) { chunks.push(...r2.process(input.subarray(at, at + size))); at += size; }
  assert.equal(at, input.length);
  assert.equal(whole.length, 4800);
  assert.equal(chunks.length, whole.length);
  for (let i = 0; i < whole.length; i++) assert.ok(Math.abs(chunks[i] - whole[i]) < 1e-6, `sample ${i}`);
  // a 440 Hz tone passes the anti-alias filter at the right frequency: zero crossings every 1/880 s
  const crossings = [];
  for (let i = 1000; i < whole.length; i++) if (whole[i - 1] < 0 && whole[i] >= 0) crossings.push(i);
  const period = (crossings.at(-1) - crossings[0]) / (crossings.length - 1);
  assert.ok(Math.abs(period - 48000 / 440) < 0.05, period);
  // upsampling is plain linear interpolation, sample k at input k * from / to
  const up = new LinearResampler(4000, 8000).process(Float32Array.from([0, 1, 0, -1]));
  assert.deepEqual([...up], [0, 0.5, 1, 0.5, 0, -0.5, -1]);
});

test('a curve track keeps a window of recent frames', () => {
  const track = new CurveTrack(['jawOpen'], 60);
  track.add(0, 5, Float32Array.from([0, 1, 2, 3, 4]));
  track.trimBefore(3);
  assert.equal(track.firstFrame, 3);
  assert.equal(track.value('jawOpen', 3.5), 3.5);
  assert.equal(track.value('jawOpen', 0), 3);      // earlier clamps to the first frame held
  track.add(5, 2, Float32Array.from([5, 6]));
  assert.equal(track.numFrames, 7);
  assert.equal(track.value('jawOpen', 6), 6);
  track.add(2, 2, Float32Array.from([9, 9]));      // older than the window: only frame 3 lands
  assert.equal(track.value('jawOpen', 3), 9);
  assert.equal(track.value('jawOpen', 4), 4);
});

test('start sends listen, resolves with the max delay, pushPcm pushes pcm16le in pieces up to max_push_s', async () => {
  const connection = new FakeConnection({ max_push_s: 0.25, max_pending_pushes: 32 });
  const listener = new LiveListener({ connection, audioContext: { currentTime: 5, sampleRate: 48000 }, fps: 30, emotion: 'happy' });
  const { info, id, listen } = await started(listener, connection, { sampleRate: 16000 }, { fps: 30 });
  assert.deepEqual(listen, { v: 1, type: 'listen', id, sample_rate: 16000, audio_format: 'pcm16le', fps: 30,
    channels: [...LIVE_CHANNELS], emotion: 'happy' });
  assert.equal(info.maxDelay, 0.0575);
  assert.equal(listener.maxDelay, 0.0575);
  assert.equal(info.sampleRate, 16000);
  assert.ok(Math.abs(info.monitorDelay - 0.1075) < 1e-12);
  assert.equal(listener.pushPcm(new Float32Array(10000).fill(0.5)), 10000);   // 0.625 s: 4000 + 4000 + 2000
  assert.equal(listener.pushPcm(Int16Array.from([1, 2, 3])), 3);
  const pushes = connection.pushes();
  assert.deepEqual(pushes.map((m) => m.payloads[0].length / 2), [4000, 4000, 2000, 3]);
  assert.ok(pushes.every((m) => m.header.id === id && m.header.last === undefined && m.payloads.length === 1));
  assert.deepEqual([...new Int16Array(pushes[3].payloads[0].slice().buffer)], [1, 2, 3]);
  assert.equal(new DataView(pushes[0].payloads[0].buffer, pushes[0].payloads[0].byteOffset).getInt16(0, true), 16384);
  assert.equal(listener.stats.pending, 4);
  assert.throws(() => new LiveListener({ connection }).pushPcm(new Float32Array(1)), /call start/);
});

test('no more than maxPending pushes in flight: audio waits and goes in a bigger push when replies come', async () => {
  const connection = new FakeConnection();
  const listener = new LiveListener({ connection, audioContext: { currentTime: 0, sampleRate: 48000 }, maxPending: 2 });
  const { id } = await started(listener, connection, { sampleRate: 16000 });
  for (let k = 0; k < 5; k++) listener.pushPcm(new Int16Array(320));
  assert.equal(connection.pushes().length, 2);
  assert.equal(listener.stats.backlogMs, 60);
  connection.deliver(...framesMessage(id, 0, 0, 320));                  // a reply with no frame still counts
  assert.deepEqual(connection.pushes().map((m) => m.payloads[0].length / 2), [320, 320, 960]);
  assert.equal(listener.stats.replies, 1);
  assert.equal(listener.stats.pending, 2);
  assert.equal(listener.stats.maxPendingSeen, 2);
});

test('frames go into the curve track in order; the face shows the newest frame; visemes are kept', async () => {
  const connection = new FakeConnection();
  const context = { currentTime: 10, sampleRate: 48000 };
  const face = { calls: [], update(track, t) { this.calls.push({ track, t }); return track !== null && t !== null; } };
  const listener = new LiveListener({ connection, audioContext: context, face });
  const { id } = await started(listener, connection, { sampleRate: 16000 });
  const seen = [];
  listener.addEventListener('frames', (e) => seen.push(e.detail));
  listener.addEventListener('visemes', (e) => seen.push(e.detail));
  assert.equal(listener.faceTime(), null);
  assert.equal(listener.update().speaking, false);
  listener.pushPcm(new Int16Array(1600));                 // 0.1 s, input clock starts at context time 10
  context.currentTime = 10.2;
  connection.deliver(...framesMessage(id, 0, 3, 1600));
  connection.deliver({ type: 'events', id, phonemes: [], words: [], visemes: [{ viseme: 'aa', start: 0, end: 800, phoneme: 0 }] });
  assert.equal(listener.stream.track.numFrames, 3);
  assert.equal(listener.faceTime(), 2 / 60);
  const info = listener.update();
  assert.equal(info.speaking, true);
  assert.ok(Math.abs(face.calls.at(-1).track.value('jawOpen', 2) - 0.02) < 1e-7);
  assert.ok(Math.abs(face.calls.at(-1).track.value('aa', 1) - 0.8) < 1e-7);
  assert.ok(Math.abs(seen[0].lagMs - (200 - (2 / 60) * 1000)) < 1e-6);    // input clock 0.2 s, newest frame 2/60 s
  assert.deepEqual(seen[1], [{ viseme: 'aa', start: 0, end: 800, phoneme: 0 }]);
  listener.pushPcm(new Int16Array(1600));
  connection.deliver(...framesMessage(id, 3, 6, 3200));
  assert.equal(listener.faceTime(), 8 / 60);
  const stats = listener.stats;
  assert.equal(stats.frames, 9);
  assert.equal(stats.framesMessages, 2);
  assert.equal(stats.visemes, 1);
  assert.equal(stats.maxDelayMs, 57.5);
  assert.equal(stats.status, 'listening');
  assert.equal(listener.stream.visemes.length, 1);
});

test('the face is driven through FaceDriver on a three.js mesh', async () => {
  const connection = new FakeConnection();
  const listener = new LiveListener({ connection, audioContext: { currentTime: 0, sampleRate: 48000 }, idle: false });
  const geometry = new THREE.BufferGeometry();
  geometry.setAttribute('position', new THREE.Float32BufferAttribute([0, 0, 0, 1, 0, 0, 0, 1, 0], 3));
  const mesh = new THREE.Mesh(geometry, new THREE.MeshBasicMaterial());
  mesh.morphTargetDictionary = { jawOpen: 0, mouthClose: 1 };
  mesh.morphTargetInfluences = [0, 0];
  const root = new THREE.Group();
  root.add(mesh);
  listener.attach(root);
  const { id } = await started(listener, connection, { sampleRate: 16000 });
  listener.pushPcm(new Int16Array(3200));
  connection.deliver(...framesMessage(id, 0, 31, 3200));
  listener.update();
  assert.ok(Math.abs(listener.face.influence('jawOpen') - 0.3) < 1e-6);   // newest frame 30: jawOpen 0.30
});

test('stop pushes the rest marked last and resolves on end; the face rests after', async () => {
  const connection = new FakeConnection();
  const listener = new LiveListener({ connection, audioContext: { currentTime: 0, sampleRate: 48000 }, maxPending: 1 });
  const { id } = await started(listener, connection, { sampleRate: 16000 });
  listener.pushPcm(new Int16Array(100));
  listener.pushPcm(new Int16Array(50));
  const done = listener.stop();
  assert.equal(listener.stats.status, 'stopping');
  assert.throws(() => listener.pushPcm(new Int16Array(1)), /call start/);
  assert.equal(connection.pushes().length, 1);                        // the second waits for a reply
  connection.deliver(...framesMessage(id, 0, 0, 100));
  const last = connection.pushes().at(-1);
  assert.deepEqual(last.header, { v: 1, type: 'push', id, last: true });
  assert.equal(last.payloads[0].length, 100);
  connection.deliver(...framesMessage(id, 0, 1, 150));
  connection.deliver({ type: 'end', id, status: 'ok', stats: { audio_samples: 150, frames: 1, pushes: 2 } });
  const result = await done;
  assert.equal(result.status, 'ok');
  assert.equal(result.stats.audio_samples, 150);
  assert.equal(result.client.pushes, 2);
  assert.equal(listener.active, false);
  assert.equal(listener.update().t, null);
  assert.equal(await listener.stop(), result);
});

test('stop with nothing pushed sends one empty last push', async () => {
  const connection = new FakeConnection();
  const listener = new LiveListener({ connection, audioContext: { currentTime: 0, sampleRate: 48000 } });
  await started(listener, connection);
  listener.stop();
  const last = connection.pushes();
  assert.equal(last.length, 1);
  assert.equal(last[0].header.last, true);
  assert.equal(last[0].payloads[0].length, 0);
  listener.cancel();  // (no end comes here)
});

test('an error ends the stream; start rejects on an error answer; cancel sends cancel', async () => {
  const connection = new FakeConnection();
  const listener = new LiveListener({ connection, audioContext: { currentTime: 0, sampleRate: 48000 } });
  const ends = [];
  listener.addEventListener('end', (e) => ends.push(e.detail));
  const promise = listener.start(null, { sampleRate: 4000 });
  await tick();
  const { id } = connection.sent.at(-1).header;
  connection.deliver({ type: 'error', id, code: 'invalid_option', message: 'sample_rate...', retryable: false, field: 'sample_rate' });
  await assert.rejects(promise, /invalid_option/);
  assert.equal(ends[0].status, 'error');
  assert.equal(ends[0].error.code, 'invalid_option');

  const { id: id2 } = await started(listener, connection);
  listener.pushPcm(new Int16Array(10));
  connection.deliver({ type: 'error', id: id2, code: 'overrun', message: 'too many', retryable: true });
  assert.equal(listener.active, false);
  assert.equal(ends[1].error.code, 'overrun');
  assert.throws(() => listener.pushPcm(new Int16Array(1)), /call start/);

  const { id: id3 } = await started(listener, connection);
  listener.cancel();
  assert.deepEqual(connection.sent.at(-1).header, { v: 1, type: 'cancel', id: id3 });
  assert.equal(ends[2].status, 'cancelled');
  assert.equal(connection.streams.has(id3), false);
});

/** A fake AudioContext with only the ScriptProcessor path (no AudioWorklet in node). */
function fakeContext(sampleRate) {
  const node = () => ({ connected: [], connect(n) { this.connected.push(n); return n; }, disconnect() { this.connected = []; }, numberOfOutputs: 1 });
  const context = {
    sampleRate, currentTime: 1, state: 'running', outputLatency: 0.01, destination: node(), processors: [], delays: [],
    createGain() { return { ...node(), gain: { value: 1 } }; },
    createDelay(max) { const d = { ...node(), max, delayTime: { value: 0 } }; this.delays.push(d); return d; },
    createScriptProcessor(size, inputs, outputs) { const p = { ...node(), size, inputs, outputs, onaudioprocess: null }; this.processors.push(p); return p; },
  };
  return context;
}

function feed(context, samples, playbackTime) {
  const processor = context.processors.at(-1);
  processor.onaudioprocess({ inputBuffer: { getChannelData: () => samples }, playbackTime });
}

test('capture from an AudioNode: 20 ms pieces at the context rate, the input clock from the capture frame', async () => {
  const connection = new FakeConnection();
  const context = fakeContext(48000);
  const source = { connected: [], connect(n) { this.connected.push(n); }, disconnect() {}, numberOfOutputs: 1 };
  const listener = new LiveListener({ connection, audioContext: context, monitor: true });
  const promise = listener.start(source);
  await tick();
  const listen = connection.sent.at(-1).header;
  assert.equal(listen.sample_rate, 48000);                           // the context's own rate: no resampling
  connection.deliver(startHeader(listen.id, { sampleRate: 48000, maxDelay: 0.06 }));
  await promise;
  assert.equal(listener.stats.capture, 'scriptprocessor');
  assert.equal(listener.stats.resampled, false);
  assert.equal(context.delays[0].delayTime.value, 0.06 + 0.05);     // monitored, delayed by maxDelay + margin
  assert.equal(source.connected.length, 2);                          // capture and monitor delay
  feed(context, new Float32Array(1024).fill(0.25), 2 + 1024 / 48000); // input frames 96000.. -> context time 2 s
  feed(context, new Float32Array(1024).fill(0.25), 2 + 2048 / 48000);
  const pushes = connection.pushes();
  assert.deepEqual(pushes.map((m) => m.payloads[0].length / 2), [960, 960]);
  assert.equal(listener.stream.captureStart, 2);
  // monitored: the face shows what is heard, currentTime - captureStart - monitorDelay - outputLatency
  context.currentTime = 2.5;
  connection.deliver(...framesMessage(listen.id, 0, 20, 1920));
  assert.ok(Math.abs(listener.faceTime() - (0.5 - 0.11 - 0.01)) < 1e-9);
  assert.equal(listener.stats.late, 1);                               // frame 0 arrived after its moment was heard
  await Promise.all([listener.stop(), Promise.resolve().then(() => {
    connection.deliver(...framesMessage(listen.id, 20, 0, 1920));
    connection.deliver({ type: 'end', id: listen.id, status: 'ok', stats: {} });
  })]);
  assert.equal(connection.pushes().at(-1).header.last, true);
  assert.equal(context.processors[0].onaudioprocess, null);          // capture stopped
});

test('a context rate the daemon does not take is resampled to 48 kHz', async () => {
  const connection = new FakeConnection();
  const context = fakeContext(96000);
  const source = { connect() {}, disconnect() {}, numberOfOutputs: 1 };
  const listener = new LiveListener({ connection, audioContext: context });
  const promise = listener.start(source);
  await tick();
  const listen = connection.sent.at(-1).header;
  assert.equal(listen.sample_rate, 48000);
  connection.deliver(startHeader(listen.id, { sampleRate: 48000 }));
  await promise;
  assert.equal(listener.stats.resampled, true);
  for (let k = 0; k < 4; k++) feed(context, new Float32Array(1024), 1 + ((k + 1) * 1024) / 96000);
  const samples = connection.pushes().reduce((n, m) => n + m.payloads[0].length / 2, 0);
  assert.equal(samples, 2 * 960);                                     // two 20 ms pieces of 1920 -> 960 each
});
