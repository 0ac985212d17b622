/**
 * `YmsgPacket`: one complete packet with its body decoded into pairs, and the lookups the event code needs.
 * Values are views into the packet; strings are decoded on demand.
 */
import { decodeBody, HEADER_BYTES, type YmsgHeader, type YmsgPair } from './packet.js';
import { decodeId } from './text.js';

export class YmsgPacket {
  readonly body: Uint8Array;
  readonly pairs: YmsgPair[];
  /** What is wrong with the body, if anything (the pairs found are still used). */
  readonly bodyError: string | undefined;

  constructor(
    readonly raw: Uint8Array,
    readonly header: YmsgHeader,
  ) {
    this.body = raw.subarray(HEADER_BYTES, HEADER_BYTES + header.bodyLength);
    const decoded = decodeBody(this.body);
    this.pairs = decoded.pairs;
    this.bodyError = decoded.error;
  }

  get service(): number {
    return this.header.service;
  }

  valueBytes(pair: YmsgPair): Uint8Array {
    return this.body.subarray(pair.start, pair.end);
  }

  value(pair: YmsgPair): string {
    return decodeId(this.valueBytes(pair));
  }

  /** The first value of `key`, if present. */
  first(key: number): string | undefined {
    const pair = this.pairs.find((p) => p.key === key);
    return pair === undefined ? undefined : this.value(pair);
  }

  /** The first non-empty value among `keys`, in the order given. */
  firstOf(...keys: number[]): string | undefined {
    for (const key of keys) {
      const value = this.first(key);
      if (value !== undefined && value !== '') return value;
    }
    return undefined;
  }

  /** Every value of `key`, in order (repeated keys are how YMSG lists things). */
  all(key: number): string[] {
    return this.pairs.filter((p) => p.key === key).map((p) => this.value(p));
  }
}
