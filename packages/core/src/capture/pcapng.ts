import { ByteQueue } from '@imspect/sdk';
import { CaptureError } from './capture-error.js';
import { readU16, readU32 } from './endian.js';
import { SUPPORTED_LINK_TYPES, describeLinkType, isSupportedLinkType } from './link-types.js';
import { MAX_BLOCK_BYTES, MAX_PACKET_BYTES, nsToMs, type CapturedPacket, type PacketParser } from './packet.js';

/** Block types (pcapng specification, section 11.1). */
export const PcapngBlock = {
  SECTION_HEADER: 0x0a0d0d0a,
  INTERFACE_DESCRIPTION: 0x00000001,
  OBSOLETE_PACKET: 0x00000002,
  SIMPLE_PACKET: 0x00000003,
  ENHANCED_PACKET: 0x00000006,
} as const;

const BYTE_ORDER_MAGIC = 0x1a2b3c4d;
const OPT_END = 0;
const IF_TSRESOL = 9;
const IF_TSOFFSET = 14;
/** Smallest block: type, total length, trailing total length. */
const MIN_BLOCK = 12;
const MIN_SHB = 28;
const MIN_IDB = 20;
const MIN_EPB = 32;
const MIN_SPB = 16;

interface Interface {
  linkType: number;
  snapLength: number;
  /** Timestamp units per second is 10^exponent (decimal) or 2^exponent (binary), from if_tsresol. */
  binary: boolean;
  exponent: number;
  /** if_tsoffset: seconds to add to every timestamp. */
  offsetNs: bigint;
}

const enum State {
  BlockHeader,
  BlockBody,
  SkipBody,
  SkipTrailer,
  Failed,
}

/**
 * pcapng: a sequence of blocks grouped in sections. Each section header (SHB) sets the byte order for its
 * blocks and starts a fresh list of interfaces (IDB); packets (EPB, SPB, and the obsolete PB) name their
 * interface, which gives their link type and timestamp resolution. Blocks we do not use (statistics, name
 * resolution, secrets, custom) are skipped without being buffered.
 */
export class PcapngParser implements PacketParser {
  private readonly queue = new ByteQueue();
  private state = State.BlockHeader;
  private littleEndian = true;
  private interfaces: Interface[] = [];
  private index = 0;
  private error: CaptureError | undefined;
  private blockType = 0;
  private blockLength = 0;
  private blockOffset = 0;
  private skipLeft = 0;
  private lastTimestampNs = 0n;

  constructor(
    private readonly maxPacketBytes = MAX_PACKET_BYTES,
    private readonly maxBlockBytes = MAX_BLOCK_BYTES,
  ) {}

  push(chunk: Uint8Array): void {
    if (this.state !== State.Failed) this.queue.push(chunk);
  }

  next(): CapturedPacket | CaptureError | undefined {
    for (;;) {
      switch (this.state) {
        case State.Failed:
          return this.error;
        case State.BlockHeader: {
          if (this.queue.length < MIN_BLOCK) return undefined;
          const failure = this.readBlockHeader(this.queue.peek(MIN_BLOCK));
          if (failure !== undefined) return this.fail(failure);
          break;
        }
        case State.BlockBody: {
          if (this.queue.length < this.blockLength) return undefined;
          const block = this.queue.take(this.blockLength);
          this.state = State.BlockHeader;
          if (readU32(block, this.blockLength - 4, this.littleEndian) !== this.blockLength) {
            return this.fail(this.corrupt('its trailing length differs from its leading length'));
          }
          const result = this.readBlock(block);
          if (result instanceof CaptureError) return this.fail(result);
          if (result !== undefined) return result;
          break;
        }
        case State.SkipBody: {
          this.skipLeft -= this.queue.skip(this.skipLeft);
          if (this.skipLeft > 0) return undefined;
          this.state = State.SkipTrailer;
          break;
        }
        case State.SkipTrailer: {
          if (this.queue.length < 4) return undefined;
          const trailer = readU32(this.queue.take(4), 0, this.littleEndian);
          if (trailer !== this.blockLength) {
            return this.fail(this.corrupt('its trailing length differs from its leading length'));
          }
          this.state = State.BlockHeader;
          break;
        }
      }
    }
  }

  finish(): CaptureError | undefined {
    if (this.state === State.Failed) return this.error;
    if (this.state === State.BlockHeader && this.queue.length === 0) return undefined;
    const what = this.state === State.BlockHeader ? 'a block header' : `a block of ${this.blockLength} bytes`;
    const at = this.state === State.BlockHeader ? this.queue.offset : this.blockOffset;
    return new CaptureError('CAPTURE_TRUNCATED', `capture cut short in ${what}`, at);
  }

  /** Decides from the first 12 bytes of a block whether to buffer it or skip it. Consumes nothing. */
  private readBlockHeader(h: Uint8Array): CaptureError | undefined {
    this.blockOffset = this.queue.offset;
    // The SHB type reads the same in both byte orders; its byte-order magic then says how to read the rest.
    const type = readU32(h, 0, this.littleEndian);
    this.blockType = type;
    if (type === PcapngBlock.SECTION_HEADER) {
      const magic = readU32(h, 8, true);
      if (magic === BYTE_ORDER_MAGIC) this.littleEndian = true;
      else if (magic === 0x4d3c2b1a) this.littleEndian = false;
      else return this.corrupt('invalid byte-order magic in a section header');
    }
    this.blockLength = readU32(h, 4, this.littleEndian);
    if (this.blockLength < MIN_BLOCK || this.blockLength % 4 !== 0) {
      return this.corrupt(`its length ${this.blockLength} is not a multiple of 4 of at least ${MIN_BLOCK}`);
    }
    if (this.blockLength > this.maxBlockBytes) {
      return new CaptureError(
        'CAPTURE_BLOCK_TOO_LARGE',
        `pcapng block of type 0x${type.toString(16)} claims ${this.blockLength} bytes, ` + `more than the ${this.maxBlockBytes}-byte limit: the file is corrupt`,
        this.blockOffset,
      );
    }
    switch (type) {
      case PcapngBlock.SECTION_HEADER:
      case PcapngBlock.INTERFACE_DESCRIPTION:
      case PcapngBlock.ENHANCED_PACKET:
      case PcapngBlock.SIMPLE_PACKET:
      case PcapngBlock.OBSOLETE_PACKET:
        this.state = State.BlockBody;
        return undefined;
      default:
        this.queue.skip(8);
        this.skipLeft = this.blockLength - MIN_BLOCK;
        this.state = State.SkipBody;
        return undefined;
    }
  }

  /** A whole block, trailer checked. Returns a packet, an error, or nothing for a block that holds none. */
  private readBlock(b: Uint8Array): CapturedPacket | CaptureError | undefined {
    const le = this.littleEndian;
    switch (this.blockType) {
      case PcapngBlock.SECTION_HEADER: {
        if (b.byteLength < MIN_SHB) return this.corrupt('a section header needs 28 bytes');
        const major = readU16(b, 12, le);
        if (major !== 1) {
          const message = `pcapng section version ${major}.${readU16(b, 14, le)} is not supported`;
          return new CaptureError('CAPTURE_UNSUPPORTED_VERSION', message, this.blockOffset);
        }
        this.interfaces = [];
        return undefined;
      }
      case PcapngBlock.INTERFACE_DESCRIPTION: {
        if (b.byteLength < MIN_IDB) return this.corrupt('an interface description needs 20 bytes');
        this.interfaces.push(this.readInterface(b));
        return undefined;
      }
      case PcapngBlock.ENHANCED_PACKET:
      case PcapngBlock.OBSOLETE_PACKET: {
        if (b.byteLength < MIN_EPB) return this.corrupt('a packet block needs 32 bytes');
        const obsolete = this.blockType === PcapngBlock.OBSOLETE_PACKET;
        const interfaceId = obsolete ? readU16(b, 8, le) : readU32(b, 8, le);
        const capturedLength = readU32(b, 20, le);
        if (capturedLength > b.byteLength - MIN_EPB) {
          return this.corrupt(`it holds ${b.byteLength - MIN_EPB} packet bytes but claims ${capturedLength}`);
        }
        if (capturedLength > this.maxPacketBytes) return this.tooLarge(capturedLength);
        const iface = this.interfaceFor(interfaceId);
        if (iface instanceof CaptureError) return iface;
        const ticks = (BigInt(readU32(b, 12, le)) << 32n) | BigInt(readU32(b, 16, le));
        const data = b.subarray(28, 28 + capturedLength);
        return this.packet(iface, interfaceId, this.toNs(iface, ticks), data, readU32(b, 24, le));
      }
      case PcapngBlock.SIMPLE_PACKET: {
        if (b.byteLength < MIN_SPB) return this.corrupt('a simple packet block needs 16 bytes');
        const iface = this.interfaceFor(0);
        if (iface instanceof CaptureError) return iface;
        const originalLength = readU32(b, 8, le);
        let capturedLength = Math.min(originalLength, b.byteLength - MIN_SPB);
        if (iface.snapLength > 0) capturedLength = Math.min(capturedLength, iface.snapLength);
        if (capturedLength > this.maxPacketBytes) return this.tooLarge(capturedLength);
        // An SPB carries no timestamp. Repeating the last one keeps capture time monotonic for consumers
        // (the reassembler's timers) instead of jumping back to 1970.
        return this.packet(iface, 0, this.lastTimestampNs, b.subarray(12, 12 + capturedLength), originalLength);
      }
      default:
        return undefined;
    }
  }

  private packet(iface: Interface, interfaceId: number, timestampNs: bigint, data: Uint8Array, originalLength: number): CapturedPacket {
    this.lastTimestampNs = timestampNs;
    return {
      index: this.index++,
      timestampNs,
      time: nsToMs(timestampNs),
      linkType: iface.linkType,
      interfaceId,
      data,
      originalLength,
    };
  }

  private readInterface(b: Uint8Array): Interface {
    const le = this.littleEndian;
    const iface: Interface = {
      linkType: readU16(b, 8, le),
      snapLength: readU32(b, 12, le),
      binary: false,
      exponent: 6,
      offsetNs: 0n,
    };
    // Options are code, length, value padded to 4. A malformed option list ends the options, not the file:
    // the interface is still usable with the defaults (microseconds, no offset).
    let at = 16;
    const end = b.byteLength - 4;
    while (at + 4 <= end) {
      const code = readU16(b, at, le);
      const length = readU16(b, at + 2, le);
      if (code === OPT_END || at + 4 + length > end) break;
      const value = at + 4;
      if (code === IF_TSRESOL && length >= 1) {
        const v = b[value]!;
        iface.binary = (v & 0x80) !== 0;
        iface.exponent = v & 0x7f;
      } else if (code === IF_TSOFFSET && length >= 8) {
        const high = BigInt(readU32(b, le ? value + 4 : value, le));
        const low = BigInt(readU32(b, le ? value : value + 4, le));
        iface.offsetNs = BigInt.asIntN(64, (high << 32n) | low) * 1_000_000_000n;
      }
      at = value + ((length + 3) & ~3);
    }
    return iface;
  }

  private toNs(iface: Interface, ticks: bigint): bigint {
    let ns: bigint;
    if (iface.binary) ns = (ticks * 1_000_000_000n) >> BigInt(iface.exponent);
    else if (iface.exponent <= 9) ns = ticks * 10n ** BigInt(9 - iface.exponent);
    else ns = ticks / 10n ** BigInt(iface.exponent - 9);
    return ns + iface.offsetNs;
  }

  private interfaceFor(id: number): Interface | CaptureError {
    const iface = this.interfaces[id];
    if (iface === undefined) {
      return this.corrupt(`it refers to interface ${id}, but the section declares ${this.interfaces.length}`);
    }
    if (!isSupportedLinkType(iface.linkType)) {
      return new CaptureError('CAPTURE_UNSUPPORTED_LINKTYPE', `packet on interface ${id} of ${describeLinkType(iface.linkType)}: ${SUPPORTED_LINK_TYPES}`, this.blockOffset);
    }
    return iface;
  }

  private corrupt(why: string): CaptureError {
    const message = `corrupt pcapng block of type 0x${this.blockType.toString(16)}: ${why}`;
    return new CaptureError('CAPTURE_CORRUPT', message, this.blockOffset);
  }

  private tooLarge(length: number): CaptureError {
    return new CaptureError('CAPTURE_BLOCK_TOO_LARGE', `packet of ${length} bytes, more than the ${this.maxPacketBytes}-byte limit`, this.blockOffset);
  }

  private fail(error: CaptureError): CaptureError {
    this.state = State.Failed;
    this.error = error;
    return error;
  }
}
