import { decode, encode } from './MsgPack.js';

/**
 * Split one WebSocket message of the bridge (a MessagePack array [header, payload...]) into parts.
 * @param {ArrayBuffer|Uint8Array} data
 * @returns {{header: Record<string, any>, payloads: Uint8Array[]}}
 */
export function decodeFrame(data) {
  const value = decode(data);
  if (!Array.isArray(value) || value.length === 0 || value[0] === null || typeof value[0] !== 'object' || Array.isArray(value[0])) {
    throw new Error('a bridge message must be a MessagePack array [header map, payload...]');
  }
  return { header: value[0], payloads: value.slice(1) };
}

/**
 * One client message for the bridge: [header], or [header, payload] (a `push` carries its audio as bin).
 * @param {Record<string, any>} header
 * @param {...(Uint8Array|ArrayBufferView|ArrayBuffer)} payloads
 */
export function encodeFrame(header, ...payloads) {
  return encode([{ v: 1, ...header }, ...payloads]);
}

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
  constructor(url, options = {}) {
    super();
    this.url = url;
    this.reconnect = options.reconnect !== false;
    this.minDelay = options.minDelay ?? 250;
    this.maxDelay = options.maxDelay ?? 5000;
    this.timeout = options.timeout ?? 10000;
    this.WebSocketImpl = options.WebSocket || globalThis.WebSocket;
    this.ws = null;
    this.welcome = null;
    this.instance = null;
    this._nextId = 1;
    this._delay = this.minDelay;
    this._closed = false;
    this._opening = null;
    /** @type {Map<string, {resolve: Function, reject: Function, timer: any}>} */
    this._replies = new Map();
    /** @type {Map<string, (header: any, payloads: Uint8Array[]) => void>} */
    this._streams = new Map();
  }

  /** A fresh request id. */
  newId(prefix = 'r') { return `${prefix}${this._nextId++}-${Math.random().toString(36).slice(2, 8)}`; }

  get connected() { return this.ws !== null && this.ws.readyState === 1; }

  /**
   * Open (or wait for) the WebSocket, then say hello. Resolves with the daemon's `welcome`.
   * @returns {Promise<Record<string, any>>}
   */
  open() {
    if (this.connected && this.welcome) return Promise.resolve(this.welcome);
    if (this._opening) return this._opening;
    this._closed = false;
    this._opening = new Promise((resolve, reject) => {
      let ws;
      try { ws = new this.WebSocketImpl(this.url); } catch (error) { this._opening = null; reject(error); return; }
      ws.binaryType = 'arraybuffer';
      this.ws = ws;
      ws.onopen = async () => {
        this._delay = this.minDelay;
        try {
          const welcome = await this.request('hello', { versions: [1], client: 'avatarlab-three/0.1.0' });
          if (welcome.type !== 'welcome') throw Object.assign(new Error(welcome.message || 'no welcome'), { header: welcome });
          const restarted = this.instance !== null && this.instance !== welcome.instance;
          this.welcome = welcome;
          this.instance = welcome.instance;
          this._opening = null;
          this.dispatchEvent(new Event('open'));
          if (restarted) this.dispatchEvent(new CustomEvent('restarted', { detail: welcome.instance }));
          resolve(welcome);
        } catch (error) {
          this._opening = null;
          reject(error);
        }
      };
      ws.onmessage = (event) => this._receive(event.data);
      ws.onclose = (event) => {
        const wasOpening = this._opening !== null;
        this._opening = null;
        this.ws = null;
        this.welcome = null;
        this._failAll('connection_lost', `the connection to ${this.url} closed (${event.code})`);
        this.dispatchEvent(new CustomEvent('close', { detail: { code: event.code, reason: event.reason } }));
        if (wasOpening) reject(new Error(`cannot connect to ${this.url} (${event.code})`));
        if (this.reconnect && !this._closed) {
          const delay = this._delay;
          this._delay = Math.min(this.maxDelay, this._delay * 2);
          setTimeout(() => { if (!this._closed && !this.ws) this.open().catch(() => {}); }, delay);
        }
      };
      ws.onerror = () => {};
    });
    return this._opening;
  }

  /** Close for good (no reconnection). */
  close() {
    this._closed = true;
    if (this.ws) this.ws.close(1000);
  }

  /**
   * Send one header, with its payload for a `push`.
   * @param {Record<string, any>} header
   * @param {Uint8Array} [payload] raw bytes, sent as MessagePack bin
   */
  send(header, payload) {
    if (!this.connected) throw new Error(`not connected to ${this.url}`);
    this.ws.send(payload === undefined ? encodeFrame(header) : encodeFrame(header, payload));
  }

  /** Bytes queued in the WebSocket and not yet sent (0 when closed). */
  get bufferedAmount() { return this.ws ? this.ws.bufferedAmount : 0; }

  /**
   * A simple request (`hello`, `ping`, `status`, `voices`): resolves with the reply header, also an `error` one.
   * @param {string} type
   * @param {Record<string, any>} [fields]
   */
  request(type, fields = {}) {
    const id = this.newId(type[0]);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => { this._replies.delete(id); reject(new Error(`${type}: no reply in ${this.timeout} ms`)); }, this.timeout);
      this._replies.set(id, { resolve, reject, timer });
      try { this.send({ type, id, ...fields }); } catch (error) { clearTimeout(timer); this._replies.delete(id); reject(error); }
    });
  }

  /**
   * Route every message with this request id to `handler` until its terminal `end` or `error`.
   * @param {string} id
   * @param {(header: Record<string, any>, payloads: Uint8Array[]) => void} handler
   */
  stream(id, handler) { this._streams.set(id, handler); }

  /** Stop routing a stream (its remaining messages are dropped). */
  forget(id) { this._streams.delete(id); }

  _receive(data) {
    let frame;
    try { frame = decodeFrame(data); } catch (error) {
      this.dispatchEvent(new CustomEvent('error', { detail: { type: 'error', code: 'bad_message', message: String(error) } }));
      return;
    }
    const { header, payloads } = frame;
    const id = header.id;
    const stream = id != null ? this._streams.get(id) : undefined;
    if (stream) {
      if (header.type === 'end' || header.type === 'error') this._streams.delete(id);
      stream(header, payloads);
      return;
    }
    const reply = id != null ? this._replies.get(id) : undefined;
    if (reply) {
      clearTimeout(reply.timer);
      this._replies.delete(id);
      reply.resolve(header);
      return;
    }
    if (header.type === 'error') this.dispatchEvent(new CustomEvent('error', { detail: header }));
  }

  _failAll(code, message) {
    for (const [id, reply] of this._replies) { clearTimeout(reply.timer); reply.reject(new Error(message)); this._replies.delete(id); }
    for (const [id, handler] of this._streams) {
      this._streams.delete(id);
      handler({ v: 1, type: 'error', id, code, message, retryable: true, source: 'client' }, []);
    }
  }
}
