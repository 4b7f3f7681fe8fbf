/**
 * A streaming resampler for live capture, used only when the AudioContext runs at a rate the daemon
 * does not accept (outside 8,000-48,000 Hz, e.g. a 96 kHz or 192 kHz interface). Linear interpolation,
 * after a second-order Butterworth low-pass at 45 % of the output rate when downsampling. Output
 * sample `k` is input sample `k * from / to` (up to rounding), whatever the block sizes, so the input clock
 * (sample `n` is at `n / rate` seconds) survives resampling.
 */
export class LinearResampler {
  /**
   * @param {number} from input rate, Hz
   * @param {number} to output rate, Hz
   */
  constructor(from, to) {
    this.from = from;
    this.to = to;
    this.step = from / to;
    this.prev = 0;
    this.pos = 0; // position of the next output sample; -1 is `prev`, 0 the first sample of the next block
    this.filter = to < from ? lowPass(0.45 * to, from) : null;
  }

  /**
   * Resample one block (any size).
   * @param {Float32Array} input
   * @returns {Float32Array}
   */
  process(input) {
    const n = input.length;
    if (n === 0) return new Float32Array(0);
    const x = this.filter ? this.filter(input) : input;
    const count = Math.max(0, Math.floor((n - 1 - this.pos) / this.step) + 1);
    const out = new Float32Array(count);
    let p = this.pos;
    for (let k = 0; k < count; k++, p = this.pos + (k * this.step)) {
      const i0 = Math.floor(p);
      const w = p - i0;
      const a = i0 < 0 ? this.prev : x[i0];
      const b = i0 + 1 < n ? x[i0 + 1] : a;
      out[k] = a + (b - a) * w;
    }
    this.pos = this.pos + count * this.step - n;
    this.prev = x[n - 1];
    return out;
  }
}

/** A biquad low-pass (RBJ cookbook, Q = 1/sqrt 2) with state kept across blocks. */
function lowPass(cutoff, rate) {
  const w0 = (2 * Math.PI * cutoff) / rate;
  const alpha = Math.sin(w0) / Math.SQRT2;
  const cos = Math.cos(w0);
  const a0 = 1 + alpha;
  const b0 = (1 - cos) / 2 / a0;
  const b1 = (1 - cos) / a0;
  const a1 = (-2 * cos) / a0;
  const a2 = (1 - alpha) / a0;
  let x1 = 0, x2 = 0, y1 = 0, y2 = 0;
  return (input) => {
    const out = new Float32Array(input.length);
    for (let i = 0; i < input.length; i++) {
      const x0 = input[i];
      const y0 = b0 * x0 + b1 * x1 + b0 * x2 - a1 * y1 - a2 * y2;
      x2 = x1; x1 = x0; y2 = y1; y1 = y0;
      out[i] = y0;
    }
    return out;
  };
}
