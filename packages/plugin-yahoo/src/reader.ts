/**
 * `YmsgReader`: cuts one direction of a YMSG stream into packets, whatever the chunking. It holds at most one
 * incomplete packet (a chunk list, joined only when the packet is complete), checks the length from the header
 * before buffering, passes a packet longer than the limit through as it arrives, and treats bytes that do not
 * start with "YMSG" as garbage: passed through, reported once per run, and left at the next "YMSG".
 */
import { concatChunks } from '@imspect/sdk';
import { decodeHeader, HEADER_BYTES, MAGIC, startsWithMagic, type YmsgHeader } from './packet.js';

export type ReaderItem =
  /** A complete packet; `raw` is a view of the pushed chunk when the packet lay inside it. */
  | { kind: 'packet'; raw: Uint8Array; header: YmsgHeader }
  /** The header of a packet longer than the limit; its body follows as `rest` items. */
  | { kind: 'too-large'; raw: Uint8Array; header: YmsgHeader }
  /** Body bytes of a too-large packet, passed through as they arrive. */
  | { kind: 'rest'; raw: Uint8Array }
  /** Bytes that are not a packet; `first` marks the start of a run. */
  | { kind: 'garbage'; raw: Uint8Array; first: boolean };

export class YmsgReader {
  private chunks: Uint8Array[] = [];
  private held = 0;
  /** Body bytes of a too-large packet still to pass through. */
  private skip = 0;
  private inGarbage = false;
  private sawPacket = false;

  /**
   * @param maxPacket largest packet (header included) buffered whole
   * @param midstream the stream may start inside a packet: its first garbage run is expected, not an error
   */
  constructor(
    readonly maxPacket: number,
    private readonly midstream = false,
  ) {}

  /** Bytes held for an incomplete packet. */
  get buffered(): number {
    return this.held;
  }

  push(chunk: Uint8Array): ReaderItem[] {
    const items: ReaderItem[] = [];
    let data = chunk;
    for (;;) {
      if (this.skip > 0) {
        if (data.length === 0) break;
        const n = Math.min(this.skip, data.length);
        items.push({ kind: 'rest', raw: data.subarray(0, n) });
        this.skip -= n;
        data = data.subarray(n);
        continue;
      }
      const total = this.held + data.length;
      if (total === 0) break;
      const head = this.peek(data, Math.min(HEADER_BYTES, total));
      if (!isMagicPrefix(head)) {
        // Not a packet start: everything up to the next "YMSG" (or a tail that may become one) is garbage.
        const joined = this.take(data);
        const next = nextMagic(joined, 1);
        items.push({ kind: 'garbage', raw: joined.subarray(0, next), first: !this.inGarbage && !(this.midstream && !this.sawPacket) });
        this.inGarbage = true;
        data = joined.subarray(next);
        if (data.length > 0 && data.length < MAGIC.length) {
          this.hold(data);
          break;
        }
        continue;
      }
      if (total < HEADER_BYTES) {
        this.hold(data);
        break;
      }
      this.inGarbage = false;
      this.sawPacket = true;
      const header = decodeHeader(head);
      const size = HEADER_BYTES + header.bodyLength;
      if (size > this.maxPacket) {
        // Nothing past the header is ever held for such a packet, so the hold is a part of its header.
        const own = HEADER_BYTES - this.held;
        const joined = this.take(data.subarray(0, own));
        data = data.subarray(own);
        items.push({ kind: 'too-large', raw: joined, header });
        this.skip = header.bodyLength;
        continue;
      }
      if (total < size) {
        this.hold(data);
        break;
      }
      const own = size - this.held;
      const raw = this.take(data.subarray(0, own));
      items.push({ kind: 'packet', raw, header });
      data = data.subarray(own);
    }
    return items;
  }

  /** The stream ended: whatever is held, as it arrived. */
  end(): Uint8Array | undefined {
    if (this.held === 0) return undefined;
    return this.take(new Uint8Array(0));
  }

  /** The first `n` bytes of held + data (n <= 20: a small copy at most). */
  private peek(data: Uint8Array, n: number): Uint8Array {
    if (this.held === 0) return data.subarray(0, n);
    const out = new Uint8Array(n);
    let at = 0;
    for (let i = 0; i <= this.chunks.length && at < n; i++) {
      const part = (this.chunks[i] ?? data).subarray(0, n - at);
      out.set(part, at);
      at += part.length;
    }
    return out;
  }

  /** Keeps a view of the pushed chunk, as the SDK's LineReader does: the one copy is made in `take`. */
  private hold(data: Uint8Array): void {
    if (data.length === 0) return;
    this.chunks.push(data);
    this.held += data.length;
  }

  /** Held bytes followed by `data`, as one buffer (a view of `data` when nothing is held); empties the hold. */
  private take(data: Uint8Array): Uint8Array {
    if (this.held === 0) return data;
    const out = concatChunks([...this.chunks, data], this.held + data.length);
    this.chunks = [];
    this.held = 0;
    return out;
  }
}

/** True when `bytes` begins with "YMSG", or is shorter than 4 bytes and a prefix of it. */
function isMagicPrefix(bytes: Uint8Array): boolean {
  if (bytes.length >= MAGIC.length) return startsWithMagic(bytes);
  for (let i = 0; i < bytes.length; i++) if (bytes[i] !== MAGIC[i]) return false;
  return true;
}

/** Offset of the next "YMSG" at or after `from`, or of a tail that is a prefix of it, or the length. */
function nextMagic(bytes: Uint8Array, from: number): number {
  for (let i = from; i < bytes.length; i++) {
    if (bytes[i] !== 0x59) continue;
    if (isMagicPrefix(bytes.subarray(i, i + MAGIC.length))) return i;
  }
  return bytes.length;
}
