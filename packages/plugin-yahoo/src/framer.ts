/**
 * The framer for one direction of a YMSG stream: the SDK's length-prefixed framer with YMSG's header (20 bytes,
 * starting with "YMSG", the body length a big-endian u16 at offset 8). Whatever the chunking it holds at most
 * one incomplete packet, checks the length from the header before buffering, passes a packet longer than the
 * limit through as it arrives, and skips bytes that do not start with "YMSG" up to the next "YMSG".
 */
import { LengthPrefixedFramer } from '@imspect/sdk';
import { decodeHeader, HEADER_BYTES, MAGIC, type YmsgHeader } from './packet.js';

export type YmsgFramer = LengthPrefixedFramer<YmsgHeader>;

/** @param maxPacket largest packet (header included) handed out whole */
export function ymsgFramer(maxPacket: number): YmsgFramer {
  return new LengthPrefixedFramer({
    headerBytes: HEADER_BYTES,
    length: { offset: 8, size: 2, endian: 'big' },
    maxFrameBytes: maxPacket,
    magic: { bytes: MAGIC, onMismatch: 'resync' },
    decodeHeader,
  });
}
