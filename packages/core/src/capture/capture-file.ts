import { createReadStream } from 'node:fs';
import { ByteQueue } from '@imspect/sdk';
import { CaptureError } from './capture-error.js';
import { readU32BE } from './endian.js';
import { MAX_BLOCK_BYTES, MAX_PACKET_BYTES, type CapturedPacket, type PacketParser } from './packet.js';
import { PcapParser, isPcapMagic } from './pcap.js';
import { PcapngBlock, PcapngParser } from './pcapng.js';

export type CaptureFormat = 'pcap' | 'pcapng';

export interface CaptureReadOptions {
  /** Largest packet accepted, in bytes (default {@link MAX_PACKET_BYTES}). */
  maxPacketBytes?: number;
  /**
   * Called when the file ends in the middle of a record, as happens when tcpdump is killed: every complete
   * packet has been delivered and reading ends normally. Without this handler that case is an error
   * (`CAPTURE_TRUNCATED`), thrown after the complete packets.
   */
  onTruncated?(error: CaptureError): void;
  /** Called after each chunk read from the file with the bytes read so far (progress output). */
  onProgress?(bytesRead: number): void;
}

/**
 * Reading in chunks of this size keeps memory flat for captures of any size; packets are views into these
 * chunks, so a consumer that keeps a packet keeps at most its chunk alive.
 */
const READ_CHUNK_BYTES = 256 * 1024;

/**
 * Recognises the format from the first four bytes and hands everything to the pcap or pcapng parser. It is
 * the whole reader minus the file: tests and the CLI can feed it any byte source, in any chunking.
 */
export class CaptureParser implements PacketParser {
  private parser: PacketParser | undefined;
  private readonly head = new ByteQueue();
  private failure: CaptureError | undefined;
  private detected: CaptureFormat | undefined;

  constructor(private readonly options: Pick<CaptureReadOptions, 'maxPacketBytes'> = {}) {}

  /** Known once the first four bytes have been pushed. */
  get format(): CaptureFormat | undefined {
    return this.detected;
  }

  push(chunk: Uint8Array): void {
    if (this.parser !== undefined) {
      this.parser.push(chunk);
      return;
    }
    if (this.failure !== undefined) return;
    this.head.push(chunk);
    if (this.head.length < 4) return;
    const magic = readU32BE(this.head.peek(4), 0);
    const maxPacket = this.options.maxPacketBytes ?? MAX_PACKET_BYTES;
    if (isPcapMagic(magic)) {
      this.detected = 'pcap';
      this.parser = new PcapParser(maxPacket);
    } else if (magic === PcapngBlock.SECTION_HEADER) {
      this.detected = 'pcapng';
      this.parser = new PcapngParser(maxPacket, Math.max(MAX_BLOCK_BYTES, maxPacket + 128 * 1024));
    } else {
      this.failure = new CaptureError('CAPTURE_BAD_MAGIC', `not a pcap or pcapng file (${describeMagic(magic)})`, 0);
      return;
    }
    const buffered = this.head.take(this.head.length);
    this.parser.push(buffered);
  }

  next(): CapturedPacket | CaptureError | undefined {
    return this.failure ?? this.parser?.next();
  }

  finish(): CaptureError | undefined {
    if (this.failure !== undefined) return this.failure;
    if (this.parser !== undefined) return this.parser.finish();
    if (this.head.length === 0) return new CaptureError('CAPTURE_EMPTY', 'the capture file is empty');
    const message = `${this.head.length} bytes are too few for a capture file header`;
    return new CaptureError('CAPTURE_TRUNCATED', message, 0);
  }
}

function describeMagic(magic: number): string {
  const hex = magic.toString(16).padStart(8, '0');
  if (magic >>> 16 === 0x1f8b) return `starts with ${hex}: gzip-compressed, decompress it first`;
  return `starts with ${hex}`;
}

/**
 * Every packet of a capture file, in file order. The file is read in chunks; a record that does not fit
 * in memory limits, a damaged file or an unsupported link layer rejects with a {@link CaptureError}.
 */
export async function* readPackets(path: string, options: CaptureReadOptions = {}): AsyncGenerator<CapturedPacket> {
  const parser = new CaptureParser(options);
  const stream = createReadStream(path, { highWaterMark: READ_CHUNK_BYTES });
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      parser.push(chunk);
      for (let result = parser.next(); result !== undefined; result = parser.next()) {
        if (result instanceof CaptureError) throw result;
        yield result;
      }
    }
  } catch (error) {
    throw asCaptureError(error, path);
  } finally {
    stream.destroy();
  }
  endOfFile(parser, options);
}

/**
 * The same packets as {@link readPackets} through a callback: no promise per packet, for replaying captures
 * of hundreds of megabytes. A callback that returns a promise holds reading until it settles (a replay waiting
 * for an asynchronous filter). Resolves to the number of packets.
 */
export async function forEachPacket(path: string, onPacket: (packet: CapturedPacket) => void | Promise<void>, options: CaptureReadOptions = {}): Promise<number> {
  const parser = new CaptureParser(options);
  const stream = createReadStream(path, { highWaterMark: READ_CHUNK_BYTES });
  let count = 0;
  let bytesRead = 0;
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      parser.push(chunk);
      for (let result = parser.next(); result !== undefined; result = parser.next()) {
        if (result instanceof CaptureError) throw result;
        count++;
        const hold = onPacket(result);
        if (hold) await hold;
      }
      bytesRead += chunk.length;
      options.onProgress?.(bytesRead);
    }
  } catch (error) {
    throw asCaptureError(error, path);
  } finally {
    stream.destroy();
  }
  endOfFile(parser, options);
  return count;
}

function endOfFile(parser: CaptureParser, options: CaptureReadOptions): void {
  const problem = parser.finish();
  if (problem === undefined) return;
  if (problem.code === 'CAPTURE_TRUNCATED' && parser.format !== undefined && options.onTruncated !== undefined) {
    options.onTruncated(problem);
    return;
  }
  throw problem;
}

function asCaptureError(error: unknown, path: string): unknown {
  if (error instanceof CaptureError) return error;
  // File-system errors (ENOENT, EISDIR, EACCES) carry a string code; anything else is the caller's own.
  const errno = error as NodeJS.ErrnoException;
  if (error instanceof Error && typeof errno.code === 'string' && errno.syscall !== undefined) {
    return new CaptureError('CAPTURE_READ_FAILED', `cannot read ${path}: ${error.message}`, undefined, error);
  }
  return error;
}
