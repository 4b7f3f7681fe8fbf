import { interpolationIndices } from './clock.js';
import { CHANNEL_INDEX } from './RetargetProfile.js';

/**
 * The curve frames of one line as they stream in: a growing matrix (frames x columns) with the column
 * names from the `start` message, sampled at fractional frame positions by linear interpolation.
 * A live stream, which may run for hours, keeps a window of its recent frames with `trimBefore`.
 */
export class CurveTrack {
  /**
   * @param {string[]} columns channel names in payload column order
   * @param {number} fps
   */
  constructor(columns, fps) {
    this.columns = columns;
    this.fps = fps;
    this.numChannels = columns.length;
    /** global channel index of each column (-1 when unknown to this package) */
    this.globalIndex = Int32Array.from(columns, (name) => (name in CHANNEL_INDEX ? CHANNEL_INDEX[name] : -1));
    this.data = new Float32Array(Math.max(1, this.numChannels) * 256);
    /** one past the last frame received (frame numbers count from the start of the line) */
    this.numFrames = 0;
    /** the first frame still held (0 unless `trimBefore` dropped older ones) */
    this.firstFrame = 0;
  }

  /**
   * Add `numFrames` frames starting at `startFrame` (frames arrive in order, as the daemon sends them).
   * @param {number} startFrame
   * @param {number} numFrames
   * @param {Float32Array} values row-major numFrames x numChannels
   */
  add(startFrame, numFrames, values) {
    const c = this.numChannels;
    const skip = Math.max(0, this.firstFrame - startFrame); // frames older than the window
    if (skip >= numFrames) return;
    const local = startFrame + skip - this.firstFrame;
    const end = (local + numFrames - skip) * c;
    if (end > this.data.length) {
      const grown = new Float32Array(Math.max(end, this.data.length * 2));
      grown.set(this.data.subarray(0, (this.numFrames - this.firstFrame) * c));
      this.data = grown;
    }
    this.data.set(values.subarray(skip * c, numFrames * c), local * c);
    this.numFrames = Math.max(this.numFrames, startFrame + numFrames);
  }

  /**
   * Drop the frames before `frame` (they can no longer be sampled; sampling earlier clamps to the first
   * frame held). Memory then stays bounded however long a live stream runs.
   * @param {number} frame
   */
  trimBefore(frame) {
    const first = Math.min(Math.floor(frame), this.numFrames);
    if (first <= this.firstFrame) return;
    const c = this.numChannels;
    this.data.copyWithin(0, (first - this.firstFrame) * c, (this.numFrames - this.firstFrame) * c);
    this.firstFrame = first;
  }

  /** Value of one column (by channel name) at a fractional frame. */
  value(name, frame) {
    const column = this.columns.indexOf(name);
    if (column < 0 || this.numFrames <= this.firstFrame) return 0;
    const { i0, i1, w } = interpolationIndices(frame - this.firstFrame, this.numFrames - this.firstFrame);
    const c = this.numChannels;
    return (1 - w) * this.data[i0 * c + column] + w * this.data[i1 * c + column];
  }

  /**
   * Write every column at a fractional frame into `values` (indexed like ALL_CHANNELS).
   * @param {number} frame
   * @param {Float32Array} values
   * @returns {boolean} false when no frame has arrived yet
   */
  sampleInto(frame, values) {
    if (this.numFrames <= this.firstFrame) return false;
    const { i0, i1, w } = interpolationIndices(frame - this.firstFrame, this.numFrames - this.firstFrame);
    const c = this.numChannels;
    const a = i0 * c;
    const b = i1 * c;
    for (let k = 0; k < c; k++) {
      const g = this.globalIndex[k];
      if (g >= 0) values[g] = (1 - w) * this.data[a + k] + w * this.data[b + k];
    }
    return true;
  }
}
