import { audioClockTime, chunkStartTime, heardTime, pcm16ToFloat32, planStreamStart } from './clock.js';

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
  constructor(context, options = {}) {
    this.context = context;
    this.lead = options.lead ?? 0.05;
    this.gain = context.createGain();
    this.gain.connect(options.destination || context.destination);
    /** @type {number|null} context time of sample 0 */
    this.streamStart = null;
    this.sampleRate = 0;
    this.samplesScheduled = 0;
    this.underruns = 0;
    /** line time at which the last late chunk starts (the position holds there until it sounds) */
    this.resumeAt = -Infinity;
    this.stopped = false;
    /** @type {Array<{sampleOffset: number, numSamples: number, when: number, duration: number, late: boolean}>} */
    this.schedule = [];
    /** @type {Set<AudioBufferSourceNode>} */
    this.sources = new Set();
  }

  /**
   * Schedule one `audio` chunk.
   * @param {number} sampleOffset first sample of the chunk within the line
   * @param {Uint8Array} pcm int16 LE mono
   * @param {number} sampleRate
   * @returns {number} the context time at which the chunk starts (NaN once stopped)
   */
  push(sampleOffset, pcm, sampleRate) {
    if (this.stopped) return NaN;
    this.sampleRate = sampleRate;
    const samples = pcm16ToFloat32(pcm);
    if (samples.length === 0) return NaN;
    const plan = planStreamStart(this.streamStart, sampleOffset, sampleRate, this.context.currentTime, this.lead);
    if (plan.late) {
      this.underruns += 1;
      this.resumeAt = sampleOffset / sampleRate;
    }
    this.streamStart = plan.streamStart;
    const buffer = this.context.createBuffer(1, samples.length, sampleRate);
    buffer.copyToChannel(samples, 0);
    const source = this.context.createBufferSource();
    source.buffer = buffer;
    source.connect(this.gain);
    const when = chunkStartTime(this.streamStart, sampleOffset, sampleRate);
    source.start(when);
    source.onended = () => this.sources.delete(source);
    this.sources.add(source);
    this.schedule.push({ sampleOffset, numSamples: samples.length, when, duration: buffer.duration, late: plan.late });
    this.samplesScheduled = Math.max(this.samplesScheduled, sampleOffset + samples.length);
    return when;
  }

  /**
   * Seconds of this line heard so far (audio clock), or null before the first chunk. It holds still
   * through an underrun's gap (`heardTime`): the mouth never runs ahead of the sound.
   * @param {number} [currentTime] the context time to read it at (default: now)
   * @returns {number|null}
   */
  position(currentTime = this.context.currentTime) {
    if (this.streamStart === null) return null;
    const t = audioClockTime(currentTime, this.streamStart, this.context.outputLatency || 0);
    return heardTime(t, this.resumeAt, this.samplesScheduled / this.sampleRate);
  }

  /** True once everything scheduled has been heard. */
  get finished() {
    const t = this.position();
    return this.stopped || (t !== null && this.sampleRate > 0 && t >= this.samplesScheduled / this.sampleRate);
  }

  /**
   * Stop at once: a short fade (no click), then every source stops and disconnects.
   * @param {number} [fade=0.005] seconds
   */
  stop(fade = 0.005) {
    if (this.stopped) return;
    this.stopped = true;
    const now = this.context.currentTime;
    this.gain.gain.setValueAtTime(this.gain.gain.value, now);
    this.gain.gain.linearRampToValueAtTime(0, now + fade);
    for (const source of this.sources) {
      try { source.stop(now + fade); } catch { /* not started */ }
    }
    this.sources.clear();
    setTimeout(() => this.gain.disconnect(), Math.ceil((fade + 0.05) * 1000));
  }
}
