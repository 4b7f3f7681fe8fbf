const PROCESSOR = 'avatarlab-pcm-capture';
/** @type {WeakMap<BaseAudioContext, Promise<void>>} the worklet module, loaded once per context */
const loaded = new WeakMap();

/**
 * Captures mono PCM from any AudioNode (a microphone's MediaStreamAudioSourceNode, a media element,
 * an oscillator...) in pieces of a fixed size, each with the AudioContext frame of its first sample.
 * It uses an AudioWorklet (`PcmCaptureProcessor.js`, loaded from next to this file or from
 * `workletUrl`); a ScriptProcessorNode only where AudioWorklet is unavailable (an insecure context,
 * an old browser). The capture node outputs silence into a muted gain, which keeps it running.
 */
export class AudioCapture {
  /**
   * @param {BaseAudioContext} context
   * @param {{pieceFrames: number, onPiece: (samples: Float32Array, frame: number) => void,
   *   workletUrl?: string|URL, scriptProcessor?: boolean}} options scriptProcessor: force the fallback
   */
  constructor(context, options) {
    this.context = context;
    this.pieceFrames = options.pieceFrames;
    this.onPiece = options.onPiece;
    this.workletUrl = options.workletUrl || new URL('./PcmCaptureProcessor.js', import.meta.url);
    this.forceScriptProcessor = !!options.scriptProcessor;
    /** 'audioworklet' or 'scriptprocessor' once started */
    this.kind = null;
    this.node = null;
    this.source = null;
    this.stopped = false;
    this._pending = null; // the ScriptProcessor path's partial piece
    this._fill = 0;
    this._first = 0;
    this._next = null; // context frame of the next ScriptProcessor sample
  }

  /** Whether this context can run the AudioWorklet path. */
  static workletAvailable(context) {
    return !!(context && context.audioWorklet && typeof globalThis.AudioWorkletNode === 'function');
  }

  /**
   * Start capturing what `source` outputs.
   * @param {AudioNode} source
   */
  async start(source) {
    const context = this.context;
    if (AudioCapture.workletAvailable(context) && !this.forceScriptProcessor) {
      if (!loaded.has(context)) {
        const loading = context.audioWorklet.addModule(String(this.workletUrl));
        loaded.set(context, loading);
        loading.catch(() => loaded.delete(context));
      }
      await loaded.get(context);
      this.node = new globalThis.AudioWorkletNode(context, PROCESSOR, {
        numberOfInputs: 1, numberOfOutputs: 1, outputChannelCount: [1],
        channelCount: 1, channelCountMode: 'explicit', channelInterpretation: 'speakers',
        processorOptions: { pieceFrames: this.pieceFrames },
      });
      this.node.port.onmessage = (event) => {
        if (!this.stopped) this.onPiece(event.data.samples, event.data.frame);
      };
      this.kind = 'audioworklet';
    } else if (typeof context.createScriptProcessor === 'function') {
      const size = 1024;
      this.node = context.createScriptProcessor(size, 1, 1);
      this._pending = new Float32Array(this.pieceFrames);
      this.node.onaudioprocess = (event) => {
        if (this.stopped) return;
        const data = event.inputBuffer.getChannelData(0);
        // the input block was rendered one buffer before the output it pairs with plays
        if (this._next === null) this._next = Math.max(0, Math.round(event.playbackTime * context.sampleRate) - size);
        this._collect(data, this._next);
        this._next += data.length;
      };
      this.kind = 'scriptprocessor';
    } else {
      throw new Error('this browser can capture no audio: neither AudioWorklet nor ScriptProcessorNode');
    }
    if (this.stopped) { this._teardown(); return this; }
    this.mute = context.createGain();
    this.mute.gain.value = 0;
    this.source = source;
    source.connect(this.node);
    this.node.connect(this.mute);
    this.mute.connect(context.destination);
    return this;
  }

  _collect(data, frame) {
    for (let i = 0; i < data.length; i++) {
      if (this._fill === 0) this._first = frame + i;
      this._pending[this._fill++] = data[i];
      if (this._fill === this.pieceFrames) {
        const piece = this._pending;
        this._pending = new Float32Array(this.pieceFrames);
        this._fill = 0;
        this.onPiece(piece, this._first);
      }
    }
  }

  /** Stop capturing and disconnect (a partial last piece, under one piece long, is dropped). */
  stop() {
    if (this.stopped) return;
    this.stopped = true;
    this._teardown();
  }

  _teardown() {
    if (!this.node) return;
    if (this.source) { try { this.source.disconnect(this.node); } catch { /* already */ } }
    if (this.kind === 'audioworklet') this.node.port.postMessage('stop');
    else this.node.onaudioprocess = null;
    try { this.node.disconnect(); } catch { /* already */ }
    if (this.mute) { try { this.mute.disconnect(); } catch { /* already */ } }
  }
}
