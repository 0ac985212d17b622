import type { CaptureError } from './capture-error.js';

/** One frame read from a capture file, before any decoding. */
export interface CapturedPacket {
  /** Position in the file, from 0 (tshark's `frame.number` minus one). */
  index: number;
  /** Capture time in nanoseconds since the Unix epoch (exact, whatever the file's resolution). */
  timestampNs: bigint;
  /** Capture time in milliseconds since the Unix epoch (fractional; sub-microsecond digits may be lost). */
  time: number;
  /** LINKTYPE_* of `data`, see `link-types.ts`. */
  linkType: number;
  /** pcapng interface the packet was captured on (its index in the current section); 0 for pcap. */
  interfaceId: number;
  /** The link-layer frame as captured (possibly cut at the snapshot length). A view into the read buffer. */
  data: Uint8Array;
  /** Length of the frame on the wire; more than `data.byteLength` when the capture cut it. */
  originalLength: number;
}

/**
 * Limit on one pcap record or pcapng block. Wireshark's own ceiling for any packet is 64 MiB
 * (WTAP_MAX_PACKET_SIZE_LARGEST, needed by D-Bus and USB captures); real IP captures stay under 256 KiB even
 * with TSO/GRO. Anything above is a corrupt or hostile length field, and it is checked before a single byte
 * of the record is buffered, so a header claiming 2 GB costs nothing. The extra 128 KiB leaves room for the
 * block header and options around a maximal packet.
 */
export const MAX_PACKET_BYTES = 64 * 1024 * 1024;
export const MAX_BLOCK_BYTES = MAX_PACKET_BYTES + 128 * 1024;

/**
 * A format parser: fed chunks in order, it hands out packets as soon as they are complete. Errors are
 * returned as values (never thrown) and are final: after one, `next()` keeps returning it.
 */
export interface PacketParser {
  push(chunk: Uint8Array): void;
  /** The next packet, the error that stops the parse, or `undefined` when more input is needed. */
  next(): CapturedPacket | CaptureError | undefined;
  /** Call once the input has ended: the problem with what was left over (a cut-off record), if any. */
  finish(): CaptureError | undefined;
}

export function nsToMs(ns: bigint): number {
  // Split so the integer milliseconds stay exact even though ns since 1970 exceed 2^53.
  const ms = ns / 1_000_000n;
  return Number(ms) + Number(ns - ms * 1_000_000n) / 1e6;
}
