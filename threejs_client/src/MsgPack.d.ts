/**
 * Decode one MessagePack value that fills the whole buffer.
 * @param {ArrayBuffer|Uint8Array} input
 * @returns {any}
 */
export function decode(input: ArrayBuffer | Uint8Array): any;
/**
 * Encode a value: objects become maps (undefined fields skipped), arrays, strings, numbers
 * (integers as the smallest int, others float64), booleans, null, Uint8Array/ArrayBuffer as bin.
 * @param {any} value
 * @returns {Uint8Array}
 */
export function encode(value: any): Uint8Array;
/** Thrown on malformed or truncated input. */
export class MsgPackError extends Error {
}
