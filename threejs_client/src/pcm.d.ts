/**
 * The rate to push audio captured at `rate`: the rate itself when the daemon accepts it (no
 * resampling in the browser), else the nearest accepted one.
 * @param {number} rate e.g. audioContext.sampleRate
 * @returns {number}
 */
export function liveSampleRate(rate: number): number;
/**
 * Float samples in [-1, 1] to int16 (clipped, rounded; NaN becomes 0).
 * @param {Float32Array|number[]} samples
 * @returns {Int16Array}
 */
export function floatToInt16(samples: Float32Array | number[]): Int16Array;
/**
 * int16 samples as `pcm16le` bytes (the push payload): a view of the same memory on little-endian
 * machines (every current browser), a byte-swapped copy elsewhere.
 * @param {Int16Array} samples
 * @returns {Uint8Array}
 */
export function pcm16leBytes(samples: Int16Array): Uint8Array;
/**
 * Samples in one piece of `ms` milliseconds at `rate` (at least one).
 * @param {number} rate
 * @param {number} ms
 */
export function pieceSamples(rate: number, ms: number): number;
/**
 * PCM helpers for live audio (`listen`/`push`, docs/protocol.md section 5a), as small pure functions.
 * @module pcm
 */
/** The sample rates a `listen` stream accepts. */
export const MIN_LIVE_RATE: 8000;
export const MAX_LIVE_RATE: 48000;
