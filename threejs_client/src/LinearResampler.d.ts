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
    constructor(from: number, to: number);
    from: number;
    to: number;
    step: number;
    prev: number;
    pos: number;
    filter: (input: any) => Float32Array<any>;
    /**
     * Resample one block (any size).
     * @param {Float32Array} input
     * @returns {Float32Array}
     */
    process(input: Float32Array): Float32Array;
}
