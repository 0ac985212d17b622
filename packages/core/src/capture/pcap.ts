import { ByteQueue } from '@imspect/sdk';
import { CaptureError } from './capture-error.js';
import { readU16, readU32 } from './endian.js';
import { SUPPORTED_LINK_TYPES, describeLinkType, isSupportedLinkType } from './link-types.js';
import { MAX_PACKET_BYTES, nsToMs, type CapturedPacket, type PacketParser } from './packet.js';

/** The four classic pcap signatures, as the first four bytes read big-endian. */
export const PCAP_MAGIC = {
  MICROS_BE: 0xa1b2c3d4,
  MICROS_LE: 0xd4c3b2a1,
  NANOS_BE: 0xa1b23c4d,
  NANOS_LE: 0x4d3cb2a1,
} as const;

export function isPcapMagic(firstFourBE: number): boolean {
  return firstFourBE === PCAP_MAGIC.MICROS_BE || firstFourBE === PCAP_MAGIC.MICROS_LE || firstFourBE === PCAP_MAGIC.NANOS_BE || firstFourBE === PCAP_MAGIC.NANOS_LE;
}

const FILE_HEADER = 24;
const RECORD_HEADER = 16;

const enum State {
  FileHeader,
  RecordHeader,
  RecordData,
  Failed,
}

/**
 * Classic libpcap format: a 24-byte file header, then records of a 16-byte header plus the frame. The byte
 * order and the timestamp unit (microseconds or nanoseconds) come from the magic number.
 */
export class PcapParser implements PacketParser {
  private readonly queue = new ByteQueue();
  private state = State.FileHeader;
  private littleEndian = true;
  private nanos = false;
  private linkType = 0;
  private index = 0;
  private error: CaptureError | undefined;
  // The header of the record being buffered.
  private recordOffset = 0;
  private seconds = 0;
  private fraction = 0;
  private capturedLength = 0;
  private originalLength = 0;

  constructor(private readonly maxPacketBytes = MAX_PACKET_BYTES) {}

  push(chunk: Uint8Array): void {
    if (this.state !== State.Failed) this.queue.push(chunk);
  }

  next(): CapturedPacket | CaptureError | undefined {
    for (;;) {
      switch (this.state) {
        case State.Failed:
          return this.error;
        case State.FileHeader: {
          if (this.queue.length < FILE_HEADER) return undefined;
          const failure = this.readFileHeader(this.queue.take(FILE_HEADER));
          if (failure !== undefined) return this.fail(failure);
          this.state = State.RecordHeader;
          break;
        }
        case State.RecordHeader: {
          if (this.queue.length < RECORD_HEADER) return undefined;
          this.recordOffset = this.queue.offset;
          const h = this.queue.take(RECORD_HEADER);
          const le = this.littleEndian;
          this.seconds = readU32(h, 0, le);
          this.fraction = readU32(h, 4, le);
          this.capturedLength = readU32(h, 8, le);
          this.originalLength = readU32(h, 12, le);
          if (this.capturedLength > this.maxPacketBytes) {
            return this.fail(
              new CaptureError(
                'CAPTURE_BLOCK_TOO_LARGE',
                `pcap record ${this.index} claims ${this.capturedLength} bytes, ` + `more than the ${this.maxPacketBytes}-byte limit: the file is corrupt`,
                this.recordOffset,
              ),
            );
          }
          this.state = State.RecordData;
          break;
        }
        case State.RecordData: {
          if (this.queue.length < this.capturedLength) return undefined;
          const data = this.queue.take(this.capturedLength);
          this.state = State.RecordHeader;
          const timestampNs = BigInt(this.seconds) * 1_000_000_000n + BigInt(this.nanos ? this.fraction : this.fraction * 1000);
          return {
            index: this.index++,
            timestampNs,
            time: nsToMs(timestampNs),
            linkType: this.linkType,
            interfaceId: 0,
            data,
            originalLength: this.originalLength,
          };
        }
      }
    }
  }

  finish(): CaptureError | undefined {
    if (this.state === State.Failed) return this.error;
    if (this.state === State.FileHeader) {
      const message = `pcap file header cut short: ${this.queue.length} of ${FILE_HEADER} bytes`;
      return new CaptureError('CAPTURE_TRUNCATED', message, 0);
    }
    if (this.state === State.RecordData || this.queue.length > 0) {
      const need = this.state === State.RecordData ? this.capturedLength : RECORD_HEADER;
      const what = this.state === State.RecordData ? 'data' : 'header';
      const at = this.state === State.RecordData ? this.recordOffset : this.queue.offset;
      return new CaptureError('CAPTURE_TRUNCATED', `capture cut short in the ${what} of record ${this.index}: ${this.queue.length} of ${need} bytes`, at);
    }
    return undefined;
  }

  private readFileHeader(h: Uint8Array): CaptureError | undefined {
    const magic = readU32(h, 0, false);
    this.littleEndian = magic === PCAP_MAGIC.MICROS_LE || magic === PCAP_MAGIC.NANOS_LE;
    this.nanos = magic === PCAP_MAGIC.NANOS_BE || magic === PCAP_MAGIC.NANOS_LE;
    const major = readU16(h, 4, this.littleEndian);
    const minor = readU16(h, 6, this.littleEndian);
    if (major !== 2) {
      const message = `pcap version ${major}.${minor} is not supported (expected 2.x)`;
      return new CaptureError('CAPTURE_UNSUPPORTED_VERSION', message, 0);
    }
    // The top six bits of the link-type field carry FCS information (LT_FCS_LENGTH); IP decoding ignores
    // trailing FCS bytes anyway because it trusts the IP length.
    this.linkType = readU32(h, 20, this.littleEndian) & 0x03ffffff;
    if (!isSupportedLinkType(this.linkType)) {
      return new CaptureError('CAPTURE_UNSUPPORTED_LINKTYPE', `pcap file of ${describeLinkType(this.linkType)}: ${SUPPORTED_LINK_TYPES}`, 20);
    }
    return undefined;
  }

  private fail(error: CaptureError): CaptureError {
    this.state = State.Failed;
    this.error = error;
    return error;
  }
}
