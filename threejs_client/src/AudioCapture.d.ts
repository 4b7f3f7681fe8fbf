/**
 * Captures mono PCM from any AudioNode (a microphone's MediaStreamAudioSourceNode, a media element,
 * an oscillator...) in pieces of a fixed size, each with the AudioContext frame of its first sample.
 * It uses an AudioWorklet (`PcmCaptureProcessor.js`, loaded from next to this file or from
 * `workletUrl`); a ScriptProcessorNode only where AudioWorklet is unavailable (an insecure context,
 * an old browser). The capture node outputs silence into a muted gain, which keeps it running.
 */
export class AudioCapture {
    /** Whether this context can run the AudioWorklet path. */
    static workletAvailable(context: any): boolean;
    /**
     * @param {BaseAudioContext} context
     * @param {{pieceFrames: number, onPiece: (samples: Float32Array, frame: number) => void,
     *   workletUrl?: string|URL, scriptProcessor?: boolean}} options scriptProcessor: force the fallback
     */
    constructor(context: BaseAudioContext, options: {
        pieceFrames: number;
        onPiece: (samples: Float32Array, frame: number) => void;
        workletUrl?: string | URL;
        scriptProcessor?: boolean;
    });
    context: BaseAudioContext;
    pieceFrames: number;
    onPiece: (samples: Float32Array, frame: number) => void;
    workletUrl: string | URL;
    forceScriptProcessor: boolean;
    /** 'audioworklet' or 'scriptprocessor' once started */
    kind: string;
    node: AudioWorkletNode | ScriptProcessorNode;
    source: AudioNode;
    stopped: boolean;
    _pending: Float32Array<ArrayBuffer>;
    _fill: number;
    _first: number;
    _next: number;
    /**
     * Start capturing what `source` outputs.
     * @param {AudioNode} source
     */
    start(source: AudioNode): Promise<this>;
    mute: GainNode;
    _collect(data: any, frame: any): void;
    /** Stop capturing and disconnect (a partial last piece, under one piece long, is dropped). */
    stop(): void;
    _teardown(): void;
}
