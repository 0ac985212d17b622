/**
 * `FlapReader`: cuts one direction of an OSCAR stream into FLAPs, whatever the chunking. This module is the
 * plugin's whole framer, kept behind one small interface so a shared length-prefixed framer can replace it.
 *
 * It holds at most one incomplete FLAP (a `ByteQueue`: a chunk list, read through views), checks the length
 * from the header before buffering, passes a FLAP longer than the limit through as it arrives, and treats
 * bytes that are not a FLAP as garbage: passed through, reported once per run, and left at the next start
 * marker followed by a plausible header. A stream joined mid-way starts that way too: its first run is expected
 * rather than an error.
 */
import { ByteQueue } from '@imspect/sdk';
import { decodeFlapHeader, FLAP_HEADER_BYTES, FLAP_MARKER, plausibleHeader, type FlapHeader } from './flap.js';

export type ReaderItem =
  /** A complete FLAP; `raw` is a view of the pushed chunk when the FLAP lay inside it. */
  | { kind: 'flap'; raw: Uint8Array; header: FlapHeader }
  /** The header of a FLAP longer than the limit; its payload follows as `rest` items. */
  | { kind: 'too-large'; raw: Uint8Array; header: FlapHeader }
  /** Payload bytes of a too-large FLAP, passed through as they arrive. */
  | { kind: 'rest'; raw: Uint8Array }
  /** Bytes that are not a FLAP; `first` marks the start of an unexpected run. */
  | { kind: 'garbage'; raw: Uint8Array; first: boolean };

/** Garbage is scanned for the next marker this many bytes at a time (bounds the copy of a straddling window). */
const SCAN_WINDOW = 64 * 1024;

export class FlapReader {
  private readonly queue = new ByteQueue();
  /** Payload bytes of a too-large FLAP still to pass through. */
  private skipping = 0;
  private inGarbage = false;
  private sawFlap = false;

  /**
   * @param maxFlap largest FLAP (header included) buffered whole
   * @param midstream the stream may start inside a FLAP: its first garbage run is expected, not an error
   */
  constructor(
    readonly maxFlap: number,
    private readonly midstream = false,
  ) {}

  /** Bytes held for an incomplete FLAP (or a tail that may be one). */
  get buffered(): number {
    return this.queue.length;
  }

  push(chunk: Uint8Array): ReaderItem[] {
    this.queue.push(chunk);
    const items: ReaderItem[] = [];
    const q = this.queue;
    for (;;) {
      if (this.skipping > 0) {
        const n = Math.min(this.skipping, q.length);
        if (n === 0) break;
        items.push({ kind: 'rest', raw: q.take(n) });
        this.skipping -= n;
        continue;
      }
      if (q.length === 0) break;
      const head = q.peek(Math.min(FLAP_HEADER_BYTES, q.length));
      const synced = !this.inGarbage && (this.sawFlap || !this.midstream);
      // In step, a marker is a FLAP (broken or not); after garbage only a plausible header ends the run.
      const startsFlap = head[0] === FLAP_MARKER && (head.length < FLAP_HEADER_BYTES || (synced ? isChannel(head[1]!) : plausibleHeader(head, this.maxFlap)));
      if (!startsFlap) {
        if (!this.scanGarbage(items)) break;
        continue;
      }
      if (q.length < FLAP_HEADER_BYTES) break;
      const header = decodeFlapHeader(head);
      this.inGarbage = false;
      this.sawFlap = true;
      const size = FLAP_HEADER_BYTES + header.length;
      if (size > this.maxFlap) {
        items.push({ kind: 'too-large', raw: q.take(FLAP_HEADER_BYTES), header });
        this.skipping = header.length;
        continue;
      }
      if (q.length < size) break;
      items.push({ kind: 'flap', raw: q.take(size), header });
    }
    return items;
  }

  /** The stream ended: whatever is held, as it arrived. */
  end(): Uint8Array | undefined {
    if (this.queue.length === 0) return undefined;
    return this.queue.take(this.queue.length);
  }

  /**
   * Passes garbage through up to the next plausible FLAP start. Returns false when it must wait for more bytes
   * (a marker near the end whose header is not all there yet).
   */
  private scanGarbage(items: ReaderItem[]): boolean {
    const q = this.queue;
    const window = q.peek(Math.min(q.length, SCAN_WINDOW));
    let cut = window.length;
    let wait = false;
    for (let i = 1; i < window.length; i++) {
      if (window[i] !== FLAP_MARKER) continue;
      if (i + FLAP_HEADER_BYTES > window.length) {
        if (window.length === q.length) {
          // Not enough bytes yet to judge this marker: pass what precedes it, hold the rest.
          cut = i;
          wait = true;
          break;
        }
        // The window ends inside a header: rescan from this marker (the window then starts with it).
        cut = i;
        break;
      }
      if (plausibleHeader(window.subarray(i, i + FLAP_HEADER_BYTES), this.maxFlap)) {
        cut = i;
        break;
      }
    }
    const first = !this.inGarbage && !(this.midstream && !this.sawFlap);
    this.inGarbage = true;
    items.push({ kind: 'garbage', raw: q.take(cut), first });
    return !wait;
  }
}

function isChannel(channel: number): boolean {
  return channel >= 1 && channel <= 5;
}
