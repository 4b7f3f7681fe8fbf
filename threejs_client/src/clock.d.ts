/**
 * The audio-clock arithmetic, as small pure functions (node tests cover each).
 *
 * A line's audio is scheduled on the AudioContext clock from `streamStart`: the chunk at
 * `sampleOffset` starts at `streamStart + sampleOffset / sampleRate`. The face shows frame
 * `t * fps` where `t` is the position of the audio being *heard*:
 * `t = audioContext.currentTime - streamStart - outputLatency` (the output latency is the time from
 * the context clock to the speaker, so the face is delayed by it to stay with what is heard).
 * @module clock
 */
/**
 * Context time at which the chunk starting at `sampleOffset` must start so chunks play back to back.
 * @param {number} streamStart context time of sample 0
 * @param {number} sampleOffset first sample of the chunk
 * @param {number} sampleRate
 * @returns {number}
 */
export function chunkStartTime(streamStart: number, sampleOffset: number, sampleRate: number): number;
/**
 * The stream start to use for a chunk that arrives at context time `now`. Unchanged while chunks
 * arrive in time; when one is late (it would start less than `lead` seconds from now) the whole
 * stream is shifted later so that chunk starts at `now + lead` (an underrun: a gap, never overlap).
 * Earlier chunks have finished playing by then, so the shift affects only what is still to come.
 * @param {number|null} streamStart null for the first chunk
 * @param {number} sampleOffset
 * @param {number} sampleRate
 * @param {number} now audioContext.currentTime
 * @param {number} lead seconds of safety margin before a chunk starts
 * @returns {{streamStart: number, late: boolean}}
 */
export function planStreamStart(streamStart: number | null, sampleOffset: number, sampleRate: number, now: number, lead: number): {
    streamStart: number;
    late: boolean;
};
/**
 * Seconds of audio heard so far: `currentTime - streamStart - outputLatency` (may be negative before
 * the first sample sounds).
 * @param {number} currentTime audioContext.currentTime
 * @param {number} streamStart context time of sample 0
 * @param {number} [outputLatency=0] audioContext.outputLatency (seconds)
 * @returns {number}
 */
export function audioClockTime(currentTime: number, streamStart: number, outputLatency?: number): number;
/**
 * The line time being heard, from the clock time `t` (`audioClockTime`), through underruns: it
 * never passes the end of the audio scheduled (the next chunk is late: silence), and after a late
 * chunk re-anchored the clock it waits at that chunk's start (`resumeAt`) until the chunk sounds.
 * So the face holds still through the gap and then moves on with the sound, never ahead of it.
 * @param {number} t seconds, `audioClockTime(...)` on the current anchor
 * @param {number} resumeAt line time of the last late chunk's start (-Infinity when none was late)
 * @param {number} scheduledEnd line time at which the audio scheduled so far ends
 * @returns {number}
 */
export function heardTime(t: number, resumeAt: number, scheduledEnd: number): number;
/**
 * Fractional frame index shown at audio time `t` (frame f is at t = f / fps).
 * @param {number} t seconds
 * @param {number} fps
 */
export function frameAt(t: number, fps: number): number;
/**
 * First frame of a chunk (docs/protocol.md): `ceil(sampleOffset * fps / sampleRate)`.
 * @param {number} sampleOffset
 * @param {number} fps
 * @param {number} sampleRate
 */
export function firstFrameOfChunk(sampleOffset: number, fps: number, sampleRate: number): number;
/**
 * Linear interpolation weights for a fractional frame, clamped to [0, numFrames - 1].
 * @param {number} frame fractional frame index
 * @param {number} numFrames frames available
 * @returns {{i0: number, i1: number, w: number}} value = (1 - w) * f[i0] + w * f[i1]
 */
export function interpolationIndices(frame: number, numFrames: number): {
    i0: number;
    i1: number;
    w: number;
};
/**
 * int16 little-endian PCM bytes to float samples in [-1, 1).
 * @param {Uint8Array} bytes
 * @returns {Float32Array}
 */
export function pcm16ToFloat32(bytes: Uint8Array): Float32Array;
/**
 * IEEE half float (as uint16 bits) to number.
 * @param {number} h
 */
export function halfToFloat(h: number): number;
/**
 * A `frames` payload (row-major num_frames x num_channels, f32 or f16 little-endian) to Float32Array.
 * @param {Uint8Array} bytes
 * @param {number} numFrames
 * @param {number} numChannels
 * @param {'f32'|'f16'} [format='f32']
 * @returns {Float32Array}
 */
export function decodeCurves(bytes: Uint8Array, numFrames: number, numChannels: number, format?: "f32" | "f16"): Float32Array;
