/* global AudioWorkletProcessor, registerProcessor, currentFrame */
/**
 * The AudioWorklet side of AudioCapture: runs on the audio rendering thread, never imported by the
 * main thread (AudioCapture loads it with `audioWorklet.addModule`). It collects the mono input into
 * pieces of `pieceFrames` samples and posts each with the context frame of its first sample, so the
 * main thread knows exactly when every sample was captured. An unconnected input counts as silence,
 * so the pieces tile the context clock with no gap.
 */
class PcmCaptureProcessor extends AudioWorkletProcessor {
  constructor(options) {
    super();
    this.size = Math.max(1, (options.processorOptions && options.processorOptions.pieceFrames) || 960);
    this.piece = new Float32Array(this.size);
    this.fill = 0;
    this.first = 0;
    this.running = true;
    this.port.onmessage = (event) => { if (event.data === 'stop') this.running = false; };
  }

  process(inputs) {
    if (!this.running) return false;
    const channels = inputs[0] || [];
    const mono = channels.length > 0 ? channels[0] : null; // the node's channelCount is 1: already mixed down
    const n = mono ? mono.length : 128;
    for (let i = 0; i < n; i++) {
      if (this.fill === 0) this.first = currentFrame + i;
      this.piece[this.fill++] = mono ? mono[i] : 0;
      if (this.fill === this.size) {
        this.port.postMessage({ samples: this.piece, frame: this.first }, [this.piece.buffer]);
        this.piece = new Float32Array(this.size);
        this.fill = 0;
      }
    }
    return true;
  }
}

registerProcessor('avatarlab-pcm-capture', PcmCaptureProcessor);
