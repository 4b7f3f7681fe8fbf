/**
 * PCM helpers for live audio (`listen`/`push`, docs/protocol.md section 5a), as small pure functions.
 * @module pcm
 */

/** The sample rates a `listen` stream accepts. */
export const MIN_LIVE_RATE = 8000;
export const MAX_LIVE_RATE = 48000;

const littleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * The rate to push audio captured at `rate`: the rate itself when the daemon accepts it (no
 * resampling in the browser), else the nearest accepted one.
 * @param {number} rate e.g. audioContext.sampleRate
 * @returns {number}
 */
export function liveSampleRate(rate) {
  return Math.min(MAX_LIVE_RATE, Math.max(MIN_LIVE_RATE, Math.round(rate)));
}

/**
 * Float samples in [-1, 1] to int16 (clipped, rounded; NaN becomes 0).
 * @param {Float32Array|number[]} samples
 * @returns {Int16Array}
 */
export function floatToInt16(samples) {
  const out = new Int16Array(samples.length);
  for (let i = 0; i < samples.length; i++) {
    const x = samples[i];
    const v = x > 0 ? Math.round(x * 32767) : Math.round(x * 32768);
    out[i] = v > 32767 ? 32767 : v < -32768 ? -32768 : v || 0;
  }
  return out;
}

/**
 * int16 samples as `pcm16le` bytes (the push payload): a view of the same memory on little-endian
 * machines (every current browser), a byte-swapped copy elsewhere.
 * @param {Int16Array} samples
 * @returns {Uint8Array}
 */
export function pcm16leBytes(samples) {
  if (littleEndian) return new Uint8Array(samples.buffer, samples.byteOffset, samples.byteLength);
  const out = new Uint8Array(samples.length * 2);
  const view = new DataView(out.buffer);
  for (let i = 0; i < samples.length; i++) view.setInt16(2 * i, samples[i], true);
  return out;
}

/**
 * Samples in one piece of `ms` milliseconds at `rate` (at least one).
 * @param {number} rate
 * @param {number} ms
 */
export function pieceSamples(rate, ms) {
  return Math.max(1, Math.round((rate * ms) / 1000));
}
