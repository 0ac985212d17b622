import { ImspectError } from '@imspect/sdk';

/**
 * Why a capture file cannot be read (any further). Stable codes so the CLI and tests can tell a file that is
 * not a capture from one that is damaged or uses a link layer we do not decode.
 */
export type CaptureErrorCode =
  /** The file has no bytes at all. */
  | 'CAPTURE_EMPTY'
  /** The first bytes are neither a pcap nor a pcapng signature. */
  | 'CAPTURE_BAD_MAGIC'
  /** A pcap major version or pcapng section version this reader does not know. */
  | 'CAPTURE_UNSUPPORTED_VERSION'
  /** Packets of a link layer that `ip.ts` cannot decode. */
  | 'CAPTURE_UNSUPPORTED_LINKTYPE'
  /** The file ends inside a header, record or block. */
  | 'CAPTURE_TRUNCATED'
  /** A record or block claims more bytes than any sane capture holds (see `MAX_PACKET_BYTES`). */
  | 'CAPTURE_BLOCK_TOO_LARGE'
  /** Lengths that contradict each other, a bad byte-order mark, a packet on an undeclared interface. */
  | 'CAPTURE_CORRUPT'
  /** The file system refused (missing file, permissions, a directory). */
  | 'CAPTURE_READ_FAILED';

export class CaptureError extends ImspectError {
  declare readonly code: CaptureErrorCode;
  /** Byte offset in the file of the header, record or block the problem is about. */
  readonly offset: number | undefined;

  constructor(code: CaptureErrorCode, message: string, offset?: number, cause?: unknown) {
    super(offset === undefined ? message : `${message} (at byte ${offset})`, { code, cause });
    this.name = 'CaptureError';
    this.offset = offset;
  }
}
