import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeFrame, encodeFrame } from '../src/Connection.js';
import { decode, encode, MsgPackError } from '../src/MsgPack.js';

const hex = (s) => Uint8Array.from(s.match(/../g).map((h) => parseInt(h, 16)));

test('decodes the formats the daemon sends (bytes as Python msgpack writes them)', () => {
  // msgpack.packb({"v": 1, "type": "audio", "n": 8192, "x": -3, "f": 0.5, "b": True, "z": None}, use_bin_type=True)
  const value = decode(hex('87a17601a474797065a5617564696fa16ecd2000a178fda166cb3fe0000000000000a162c3a17ac0'));
  assert.deepEqual(value, { v: 1, type: 'audio', n: 8192, x: -3, f: 0.5, b: true, z: null });
});

test('round trips every type through encode and decode', () => {
  const values = [0, 127, 128, 255, 256, 65535, 65536, 2 ** 32, 2 ** 53 - 1, -1, -32, -33, -128, -129, -32768, -32769,
    -(2 ** 31), -(2 ** 31) - 1, 1.5, -2.25, '', 'é'.repeat(40), 'x'.repeat(300), 'y'.repeat(70000), [], [1, [2, [3]]],
    new Array(20).fill(7), {}, { a: { b: 'c' } }, null, true, false];
  for (const v of values) assert.deepEqual(decode(encode(v)), v);
  const bin = Uint8Array.from({ length: 300 }, (_, i) => i & 0xff);
  assert.deepEqual(decode(encode(bin)), bin);
});

test('bin decodes to a view (no copy) and 64-bit ints beyond 2^53 to BigInt', () => {
  const bytes = hex('c403010203');
  const value = decode(bytes);
  assert.equal(value.buffer, bytes.buffer);
  assert.deepEqual([...value], [1, 2, 3]);
  assert.equal(decode(hex('cfffffffffffffffff')), 2n ** 64n - 1n);
});

test('garbage is an error, never a crash or a prototype write', () => {
  for (const bad of ['c1', 'a5616263', 'dc0001', '92c0', 'c4ff00']) assert.throws(() => decode(hex(bad)), MsgPackError);
  assert.throws(() => decode(hex('c0c0')), /trailing/);
  const deep = new Uint8Array(200).fill(0x91);
  assert.throws(() => decode(deep), MsgPackError);
  const polluted = decode(encode({ ['__proto__']: { x: 1 }, ok: 1 }));
  assert.equal(polluted.ok, 1);
  assert.equal({}.x, undefined);
});

test('WebSocket binding: [header, payload...] frames', () => {
  // what the bridge sends: fixarray(2), the header map bytes, bin8 payload
  assert.throws(() => decodeFrame(hex('81a1610')), Error);
  const header = { type: 'audio', id: 'a' };
  const built = Uint8Array.from([0x92, ...encode(header), 0xc4, 4, 0, 1, 2, 3]);
  const { header: h, payloads } = decodeFrame(built);
  assert.deepEqual(h, header);
  assert.deepEqual([...payloads[0]], [0, 1, 2, 3]);
  assert.deepEqual(decode(encodeFrame({ type: 'ping', id: 'p1' })), [{ v: 1, type: 'ping', id: 'p1' }]);
  assert.throws(() => decodeFrame(encode({ type: 'x' })), /array/);
  assert.throws(() => decodeFrame(encode([])), /array/);
});
