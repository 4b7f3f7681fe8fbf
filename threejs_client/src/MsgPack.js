/**
 * A small MessagePack codec (the subset the avatarlab protocol uses, and the rest of the format too):
 * maps, arrays, strings, bin, ints up to 64 bits, float32/64, nil, booleans, ext (returned raw).
 * `bin` values decode to Uint8Array views into the input (no copy).
 * @module MsgPack
 */

const textDecoder = new TextDecoder();
const textEncoder = new TextEncoder();

/** Thrown on malformed or truncated input. */
export class MsgPackError extends Error {}

/**
 * Decode one MessagePack value that fills the whole buffer.
 * @param {ArrayBuffer|Uint8Array} input
 * @returns {any}
 */
export function decode(input) {
  const bytes = input instanceof Uint8Array ? input : new Uint8Array(input);
  const reader = new Reader(bytes);
  const value = reader.read(0);
  if (reader.pos !== bytes.length) throw new MsgPackError(`${bytes.length - reader.pos} trailing bytes`);
  return value;
}

const MAX_DEPTH = 64;

class Reader {
  /** @param {Uint8Array} bytes */
  constructor(bytes) {
    this.bytes = bytes;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.pos = 0;
  }

  need(n) {
    if (this.pos + n > this.bytes.length) throw new MsgPackError('truncated MessagePack');
    const at = this.pos;
    this.pos += n;
    return at;
  }

  u8() { return this.view.getUint8(this.need(1)); }
  u16() { return this.view.getUint16(this.need(2)); }
  u32() { return this.view.getUint32(this.need(4)); }

  big(signed) {
    const at = this.need(8);
    const v = signed ? this.view.getBigInt64(at) : this.view.getBigUint64(at);
    return (v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= BigInt(Number.MIN_SAFE_INTEGER)) ? Number(v) : v;
  }

  str(n) { const at = this.need(n); return textDecoder.decode(this.bytes.subarray(at, at + n)); }
  bin(n) { const at = this.need(n); return this.bytes.subarray(at, at + n); }

  array(n, depth) {
    const out = new Array(n);
    for (let i = 0; i < n; i++) out[i] = this.read(depth + 1);
    return out;
  }

  map(n, depth) {
    const out = {};
    for (let i = 0; i < n; i++) {
      const key = this.read(depth + 1);
      const value = this.read(depth + 1);
      if (key === '__proto__') continue; // never let input reach the prototype
      out[String(key)] = value;
    }
    return out;
  }

  ext(n) { const type = this.view.getInt8(this.need(1)); return { type, data: this.bin(n) }; }

  read(depth) {
    if (depth > MAX_DEPTH) throw new MsgPackError('MessagePack nested too deep');
    const b = this.u8();
    if (b <= 0x7f) return b;
    if (b >= 0xe0) return b - 0x100;
    if ((b & 0xf0) === 0x80) return this.map(b & 0x0f, depth);
    if ((b & 0xf0) === 0x90) return this.array(b & 0x0f, depth);
    if ((b & 0xe0) === 0xa0) return this.str(b & 0x1f);
    switch (b) {
      case 0xc0: return null;
      case 0xc2: return false;
      case 0xc3: return true;
      case 0xc4: return this.bin(this.u8());
      case 0xc5: return this.bin(this.u16());
      case 0xc6: return this.bin(this.u32());
      case 0xc7: return this.ext(this.u8());
      case 0xc8: return this.ext(this.u16());
      case 0xc9: return this.ext(this.u32());
      case 0xca: return this.view.getFloat32(this.need(4));
      case 0xcb: return this.view.getFloat64(this.need(8));
      case 0xcc: return this.u8();
      case 0xcd: return this.u16();
      case 0xce: return this.u32();
      case 0xcf: return this.big(false);
      case 0xd0: return this.view.getInt8(this.need(1));
      case 0xd1: return this.view.getInt16(this.need(2));
      case 0xd2: return this.view.getInt32(this.need(4));
      case 0xd3: return this.big(true);
      case 0xd4: return this.ext(1);
      case 0xd5: return this.ext(2);
      case 0xd6: return this.ext(4);
      case 0xd7: return this.ext(8);
      case 0xd8: return this.ext(16);
      case 0xd9: return this.str(this.u8());
      case 0xda: return this.str(this.u16());
      case 0xdb: return this.str(this.u32());
      case 0xdc: return this.array(this.u16(), depth);
      case 0xdd: return this.array(this.u32(), depth);
      case 0xde: return this.map(this.u16(), depth);
      case 0xdf: return this.map(this.u32(), depth);
      default: throw new MsgPackError(`invalid MessagePack byte 0x${b.toString(16)}`);
    }
  }
}

/**
 * Encode a value: objects become maps (undefined fields skipped), arrays, strings, numbers
 * (integers as the smallest int, others float64), booleans, null, Uint8Array/ArrayBuffer as bin.
 * @param {any} value
 * @returns {Uint8Array}
 */
export function encode(value) {
  const out = [];
  write(out, value, 0);
  let length = 0;
  for (const part of out) length += part.length;
  const bytes = new Uint8Array(length);
  let at = 0;
  for (const part of out) { bytes.set(part, at); at += part.length; }
  return bytes;
}

function head(type, n, fix, fixMax, c8, c16, c32) {
  if (n <= fixMax && fix !== null) return Uint8Array.of(fix | n);
  if (n < 0x100 && c8 !== null) return Uint8Array.of(c8, n);
  if (n < 0x10000) return Uint8Array.of(c16, n >> 8, n & 0xff);
  return Uint8Array.of(c32, (n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);
}

function write(out, value, depth) {
  if (depth > MAX_DEPTH) throw new MsgPackError('value nested too deep');
  if (value === null || value === undefined) { out.push(Uint8Array.of(0xc0)); return; }
  if (value === false) { out.push(Uint8Array.of(0xc2)); return; }
  if (value === true) { out.push(Uint8Array.of(0xc3)); return; }
  if (typeof value === 'number') { writeNumber(out, value); return; }
  if (typeof value === 'bigint') {
    const b = new Uint8Array(9); const v = new DataView(b.buffer);
    if (value < 0n) { b[0] = 0xd3; v.setBigInt64(1, value); } else { b[0] = 0xcf; v.setBigUint64(1, value); }
    out.push(b); return;
  }
  if (typeof value === 'string') {
    const s = textEncoder.encode(value);
    out.push(head('str', s.length, 0xa0, 31, 0xd9, 0xda, 0xdb), s); return;
  }
  if (value instanceof ArrayBuffer) value = new Uint8Array(value);
  if (ArrayBuffer.isView(value)) {
    const b = new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
    out.push(head('bin', b.length, null, -1, 0xc4, 0xc5, 0xc6), b); return;
  }
  if (Array.isArray(value)) {
    out.push(head('array', value.length, 0x90, 15, null, 0xdc, 0xdd));
    for (const item of value) write(out, item, depth + 1);
    return;
  }
  if (typeof value === 'object') {
    const entries = Object.entries(value).filter(([, v]) => v !== undefined);
    out.push(head('map', entries.length, 0x80, 15, null, 0xde, 0xdf));
    for (const [k, v] of entries) { write(out, k, depth + 1); write(out, v, depth + 1); }
    return;
  }
  throw new MsgPackError(`cannot encode a ${typeof value}`);
}

function writeNumber(out, n) {
  if (Number.isInteger(n) && Number.isSafeInteger(n)) {
    if (n >= 0 && n <= 0x7f) { out.push(Uint8Array.of(n)); return; }
    if (n < 0 && n >= -32) { out.push(Uint8Array.of(n + 0x100)); return; }
    const b = new Uint8Array(9); const v = new DataView(b.buffer);
    if (n >= 0) {
      if (n < 0x100) { out.push(Uint8Array.of(0xcc, n)); return; }
      if (n < 0x10000) { b[0] = 0xcd; v.setUint16(1, n); out.push(b.subarray(0, 3)); return; }
      if (n < 0x100000000) { b[0] = 0xce; v.setUint32(1, n); out.push(b.subarray(0, 5)); return; }
      b[0] = 0xcf; v.setBigUint64(1, BigInt(n)); out.push(b); return;
    }
    if (n >= -0x80) { b[0] = 0xd0; v.setInt8(1, n); out.push(b.subarray(0, 2)); return; }
    if (n >= -0x8000) { b[0] = 0xd1; v.setInt16(1, n); out.push(b.subarray(0, 3)); return; }
    if (n >= -0x80000000) { b[0] = 0xd2; v.setInt32(1, n); out.push(b.subarray(0, 5)); return; }
    b[0] = 0xd3; v.setBigInt64(1, BigInt(n)); out.push(b); return;
  }
  const b = new Uint8Array(9); b[0] = 0xcb; new DataView(b.buffer).setFloat64(1, n); out.push(b);
}
