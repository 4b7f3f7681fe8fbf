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
    constructor(columns: string[], fps: number);
    columns: string[];
    fps: number;
    numChannels: number;
    /** global channel index of each column (-1 when unknown to this package) */
    globalIndex: Int32Array<ArrayBuffer>;
    data: Float32Array<ArrayBuffer>;
    /** one past the last frame received (frame numbers count from the start of the line) */
    numFrames: number;
    /** the first frame still held (0 unless `trimBefore` dropped older ones) */
    firstFrame: number;
    /**
     * Add `numFrames` frames starting at `startFrame` (frames arrive in order, as the daemon sends them).
     * @param {number} startFrame
     * @param {number} numFrames
     * @param {Float32Array} values row-major numFrames x numChannels
     */
    add(startFrame: number, numFrames: number, values: Float32Array): void;
    /**
     * Drop the frames before `frame` (they can no longer be sampled; sampling earlier clamps to the first
     * frame held). Memory then stays bounded however long a live stream runs.
     * @param {number} frame
     */
    trimBefore(frame: number): void;
    /** Value of one column (by channel name) at a fractional frame. */
    value(name: any, frame: any): number;
    /**
     * Write every column at a fractional frame into `values` (indexed like ALL_CHANNELS).
     * @param {number} frame
     * @param {Float32Array} values
     * @returns {boolean} false when no frame has arrived yet
     */
    sampleInto(frame: number, values: Float32Array): boolean;
}
