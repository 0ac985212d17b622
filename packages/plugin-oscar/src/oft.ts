/**
 * OFT, the peer-to-peer file transfer an accepted rendezvous leads to: the peers connect to each other (often on
 * 5190, the OSCAR port) and exchange OFT headers: "OFT2", header length (u16, 256), type (0x0101 the sender's
 * prompt, 0x0202 the receiver's acknowledgement, 0x0204 done), cookie, counts and sizes, and the file name at
 * offset 192. The file's bytes follow the acknowledgement unframed.
 *
 * `OftStream` reads one direction of such a connection: its first header as one frame (the prompt names the file
 * and its size), everything after it passed through as it arrives.
 */
import { ByteQueue, latin1 } from '@imspect/sdk';
import { decodeName } from './screen-name.js';

const MAGIC_BYTES = 4;
const MIN_HEADER = 0xc0 + 1;
/** Headers are 256 bytes; a longer one is not waited for. */
const MAX_HEADER = 2048;
export const OftType = { PROMPT: 0x0101, ACK: 0x0202, DONE: 0x0204 } as const;

/** Whether the first bytes of a stream are an OFT header ("OFT2", "OFT3"). */
export function startsOft(bytes: Uint8Array): boolean {
  return bytes.length >= MAGIC_BYTES && latin1(bytes.subarray(0, 3)) === 'OFT' && (bytes[3] === 0x32 || bytes[3] === 0x33);
}

export interface OftHeader {
  type: number;
  totalFiles: number;
  totalSize: number;
  size: number;
  name: string;
}

export type OftItem = { kind: 'header'; raw: Uint8Array; header: OftHeader } | { kind: 'pass'; raw: Uint8Array };

export class OftStream {
  private readonly queue = new ByteQueue();
  private headerDone = false;

  get buffered(): number {
    return this.queue.length;
  }

  push(chunk: Uint8Array): OftItem[] {
    if (this.headerDone) return chunk.length === 0 ? [] : [{ kind: 'pass', raw: chunk }];
    this.queue.push(chunk);
    if (this.queue.length < 6) return [];
    const head = this.queue.peek(6);
    const length = (head[4]! << 8) | head[5]!;
    if (length < MIN_HEADER || length > MAX_HEADER) {
      this.headerDone = true;
      return [{ kind: 'pass', raw: this.queue.take(this.queue.length) }];
    }
    if (this.queue.length < length) return [];
    this.headerDone = true;
    const raw = this.queue.take(length);
    const items: OftItem[] = [{ kind: 'header', raw, header: readHeader(raw) }];
    if (this.queue.length > 0) items.push({ kind: 'pass', raw: this.queue.take(this.queue.length) });
    return items;
  }

  end(): Uint8Array | undefined {
    return this.queue.length === 0 ? undefined : this.queue.take(this.queue.length);
  }
}

function readHeader(raw: Uint8Array): OftHeader {
  const u16 = (at: number) => (raw[at]! << 8) | raw[at + 1]!;
  const u32 = (at: number) => ((raw[at]! << 24) | (raw[at + 1]! << 16) | (raw[at + 2]! << 8) | raw[at + 3]!) >>> 0;
  const nameBytes = raw.subarray(0xc0);
  const nul = nameBytes.indexOf(0);
  return { type: u16(6), totalFiles: u16(0x14), totalSize: u32(0x1c), size: u32(0x20), name: decodeName(nul < 0 ? nameBytes : nameBytes.subarray(0, nul)) };
}
