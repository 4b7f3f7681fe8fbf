import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  audioClockTime, chunkStartTime, decodeCurves, firstFrameOfChunk, frameAt, halfToFloat, interpolationIndices,
  pcm16ToFloat32, planStreamStart,
} from '../src/clock.js';

test('chunks are scheduled back to back on the audio clock', () => {
  const sr = 22050;
  let start = null;
  const chunks = [[0, 8192], [8192, 32768], [40960, 32000]];
  const plan = [];
  let now = 1.0;
  for (const [offset, n] of chunks) {
    ({ streamStart: start } = planStreamStart(start, offset, sr, now, 0.05));
    plan.push([chunkStartTime(start, offset, sr), n / sr]);
    now += 0.05; // chunks arrive well before they are due
  }
  assert.equal(plan[0][0], 1.05);
  for (let i = 1; i < plan.length; i++) assert.ok(Math.abs(plan[i - 1][0] + plan[i - 1][1] - plan[i][0]) < 1e-12);
});

test('a late chunk shifts the rest of the line later (a gap, never an overlap)', () => {
  const sr = 1000;
  const first = planStreamStart(null, 0, sr, 10, 0.05).streamStart; // 10.05
  // chunk at 500 samples is due at 10.55 but arrives at 10.6
  const late = planStreamStart(first, 500, sr, 10.6, 0.05);
  assert.equal(late.late, true);
  assert.ok(Math.abs(chunkStartTime(late.streamStart, 500, sr) - 10.65) < 1e-12);
  const inTime = planStreamStart(first, 500, sr, 10.2, 0.05);
  assert.deepEqual(inTime, { streamStart: first, late: false });
});

test('the face samples the audio being heard: currentTime - streamStart - outputLatency', () => {
  assert.equal(audioClockTime(5.5, 5.0, 0), 0.5);
  assert.ok(Math.abs(audioClockTime(5.5, 5.0, 0.02) - 0.48) < 1e-12);
  assert.equal(audioClockTime(5.5, 5.0), 0.5);
  assert.equal(frameAt(0.5, 60), 30);
  assert.ok(audioClockTime(4.9, 5.0, 0) < 0);
});

test('first frame of a chunk follows the protocol worked example', () => {
  assert.equal(firstFrameOfChunk(8192, 30, 22050), 12);
  assert.equal(firstFrameOfChunk(0, 60, 22050), 0);
  assert.equal(firstFrameOfChunk(22050, 60, 22050), 60);
});

test('interpolation indices clamp at both ends', () => {
  assert.deepEqual(interpolationIndices(-3, 10), { i0: 0, i1: 0, w: 0 });
  assert.deepEqual(interpolationIndices(2.25, 10), { i0: 2, i1: 3, w: 0.25 });
  assert.deepEqual(interpolationIndices(12, 10), { i0: 9, i1: 9, w: 0 });
  assert.deepEqual(interpolationIndices(NaN, 10), { i0: 0, i1: 0, w: 0 });
  assert.equal(interpolationIndices(1, 0).i0, -1);
});

test('PCM16 and curve payloads decode little-endian, f32 and f16', () => {
  const pcm = new Uint8Array([0x00, 0x80, 0xff, 0x7f, 0x00, 0x00, 0x00, 0x40]);
  assert.deepEqual([...pcm16ToFloat32(pcm)], [-1, 32767 / 32768, 0, 0.5]);
  // odd byte offset inside a bigger buffer (as in a WebSocket frame)
  const big = new Uint8Array(9); big.set(pcm, 1);
  assert.deepEqual([...pcm16ToFloat32(big.subarray(1))], [-1, 32767 / 32768, 0, 0.5]);
  const f32 = new Uint8Array(new Float32Array([0.25, -1, 2, 0.5]).buffer);
  assert.deepEqual([...decodeCurves(f32, 2, 2, 'f32')], [0.25, -1, 2, 0.5]);
  const f16 = new Uint8Array(new Uint16Array([0x3c00, 0xb800, 0x0000, 0x3555]).buffer);
  const halves = decodeCurves(f16, 1, 4, 'f16');
  assert.deepEqual([...halves.subarray(0, 3)], [1, -0.5, 0]);
  assert.ok(Math.abs(halves[3] - 1 / 3) < 1e-3);
  assert.equal(halfToFloat(0x7c00), Infinity);
  assert.ok(Math.abs(halfToFloat(0x0001) - 2 ** -24) < 1e-30);
  assert.throws(() => decodeCurves(f32, 3, 2), RangeError);
});
