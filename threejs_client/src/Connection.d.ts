/**
 * Split one WebSocket message of the bridge (a MessagePack array [header, payload...]) into parts.
 * @param {ArrayBuffer|Uint8Array} data
 * @returns {{header: Record<string, any>, payloads: Uint8Array[]}}
 */
export function decodeFrame(data: ArrayBuffer | Uint8Array): {
    header: Record<string, any>;
    payloads: Uint8Array[];
};
/**
 * One client message for the bridge: [header], or [header, payload] (a `push` carries its audio as bin).
 * @param {Record<string, any>} header
 * @param {...(Uint8Array|ArrayBufferView|ArrayBuffer)} payloads
 */
export function encodeFrame(header: Record<string, any>, ...payloads: (Uint8Array | ArrayBufferView | ArrayBuffer)[]): Uint8Array<ArrayBufferLike>;
/**
 * The WebSocket to the avatarlab bridge: MessagePack frames in and out, replies and streams routed
 * by request id, automatic reconnection with backoff. Events: `open`, `close`, `restarted` (the
 * daemon's instance changed), `error` (an error with no request id; `detail` is its header).
 */
export class Connection extends EventTarget {
    /**
     * @param {string} url e.g. `ws://127.0.0.1:8765/ws`
     * @param {{reconnect?: boolean, minDelay?: number, maxDelay?: number, timeout?: number, WebSocket?: any}} [options]
     */
    constructor(url: string, options?: {
        reconnect?: boolean;
        minDelay?: number;
        maxDelay?: number;
        timeout?: number;
        WebSocket?: any;
    });
    url: string;
    reconnect: boolean;
    minDelay: number;
    maxDelay: number;
    timeout: number;
    WebSocketImpl: any;
    ws: any;
    welcome: any;
    instance: any;
    _nextId: number;
    _delay: number;
    _closed: boolean;
    _opening: any;
    /** @type {Map<string, {resolve: Function, reject: Function, timer: any}>} */
    _replies: Map<string, {
        resolve: Function;
        reject: Function;
        timer: any;
    }>;
    /** @type {Map<string, (header: any, payloads: Uint8Array[]) => void>} */
    _streams: Map<string, (header: any, payloads: Uint8Array[]) => void>;
    /** A fresh request id. */
    newId(prefix?: string): string;
    get connected(): boolean;
    /**
     * Open (or wait for) the WebSocket, then say hello. Resolves with the daemon's `welcome`.
     * @returns {Promise<Record<string, any>>}
     */
    open(): Promise<Record<string, any>>;
    /** Close for good (no reconnection). */
    close(): void;
    /**
     * Send one header, with its payload for a `push`.
     * @param {Record<string, any>} header
     * @param {Uint8Array} [payload] raw bytes, sent as MessagePack bin
     */
    send(header: Record<string, any>, payload?: Uint8Array): void;
    /** Bytes queued in the WebSocket and not yet sent (0 when closed). */
    get bufferedAmount(): any;
    /**
     * A simple request (`hello`, `ping`, `status`, `voices`): resolves with the reply header, also an `error` one.
     * @param {string} type
     * @param {Record<string, any>} [fields]
     */
    request(type: string, fields?: Record<string, any>): Promise<any>;
    /**
     * Route every message with this request id to `handler` until its terminal `end` or `error`.
     * @param {string} id
     * @param {(header: Record<string, any>, payloads: Uint8Array[]) => void} handler
     */
    stream(id: string, handler: (header: Record<string, any>, payloads: Uint8Array[]) => void): void;
    /** Stop routing a stream (its remaining messages are dropped). */
    forget(id: any): void;
    _receive(data: any): void;
    _failAll(code: any, message: any): void;
}
