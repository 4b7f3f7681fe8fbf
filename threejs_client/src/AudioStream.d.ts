/**
 * One line's streamed speech on WebAudio: each `audio` chunk becomes an AudioBuffer scheduled on the
 * AudioContext clock at `streamStart + sampleOffset / sampleRate`, so chunks play back to back with
 * no gap and no overlap. A chunk that arrives too late (an underrun: a busy machine or network)
 * re-anchors the clock: `streamStart` moves later so that chunk starts `lead` seconds from now, and
 * the rest of the line plays back to back from there (a gap, never an overlap; counted in
 * `underruns`, the chunk's `schedule` entry says `late: true`). `position()` is the audio clock the
 * face is sampled at: it follows the new anchor, and holds still through the gap.
 */
export class AudioStream {
    /**
     * @param {BaseAudioContext} context
     * @param {{destination?: AudioNode, lead?: number}} [options] lead: seconds between the first
     *   chunk's arrival and its start (a safety margin against jitter; default 0.05)
     */
    constructor(context: BaseAudioContext, options?: {
        destination?: AudioNode;
        lead?: number;
    });
    context: BaseAudioContext;
    lead: number;
    gain: GainNode;
    /** @type {number|null} context time of sample 0 */
    streamStart: number | null;
    sampleRate: number;
    samplesScheduled: number;
    underruns: number;
    /** line time at which the last late chunk starts (the position holds there until it sounds) */
    resumeAt: number;
    stopped: boolean;
    /** @type {Array<{sampleOffset: number, numSamples: number, when: number, duration: number, late: boolean}>} */
    schedule: Array<{
        sampleOffset: number;
        numSamples: number;
        when: number;
        duration: number;
        late: boolean;
    }>;
    /** @type {Set<AudioBufferSourceNode>} */
    sources: Set<AudioBufferSourceNode>;
    /**
     * Schedule one `audio` chunk.
     * @param {number} sampleOffset first sample of the chunk within the line
     * @param {Uint8Array} pcm int16 LE mono
     * @param {number} sampleRate
     * @returns {number} the context time at which the chunk starts (NaN once stopped)
     */
    push(sampleOffset: number, pcm: Uint8Array, sampleRate: number): number;
    /**
     * Seconds of this line heard so far (audio clock), or null before the first chunk. It holds still
     * through an underrun's gap (`heardTime`): the mouth never runs ahead of the sound.
     * @param {number} [currentTime] the context time to read it at (default: now)
     * @returns {number|null}
     */
    position(currentTime?: number): number | null;
    /** True once everything scheduled has been heard. */
    get finished(): boolean;
    /**
     * Stop at once: a short fade (no click), then every source stops and disconnects.
     * @param {number} [fade=0.005] seconds
     */
    stop(fade?: number): void;
}
