/**
 * Recognising OSCAR from the first bytes of either side, on any port (443 is common): a FLAP start marker and
 * a header that makes sense for its channel: a sign-on FLAP carrying version 1, a SNAC of a known family, a
 * sign-off, or a keep-alive followed by another FLAP. A stream joined mid-way starts with whatever FLAP was
 * next, hence channels other than sign-on.
 */
import type { Direction } from '@imspect/sdk';
import { Channel, decodeFlapHeader, FLAP_HEADER_BYTES, FLAP_MARKER } from './flap.js';

/** The highest SNAC family OSCAR servers ever offered (0x25, the BART-like services of AIM 6). */
const MAX_FAMILY = 0x0030;

export function sniffOscar(firstBytes: Uint8Array, _direction: Direction): boolean {
  if (firstBytes.length < FLAP_HEADER_BYTES || firstBytes[0] !== FLAP_MARKER) return false;
  const { channel, length } = decodeFlapHeader(firstBytes);
  const b = firstBytes;
  switch (channel) {
    case Channel.SIGNON:
      return length >= 4 && b.length >= 10 && b[6] === 0 && b[7] === 0 && b[8] === 0 && b[9] === 1;
    case Channel.SNAC: {
      if (length < 10 || b.length < 12) return false;
      const family = (b[6]! << 8) | b[7]!;
      const subtype = (b[8]! << 8) | b[9]!;
      return family >= 1 && family <= MAX_FAMILY && subtype >= 1 && subtype <= 0x00ff;
    }
    case Channel.SIGNOFF:
      // The whole FLAP must be TLVs (or nothing).
      return b.length >= FLAP_HEADER_BYTES + length && (length === 0 || length >= 4);
    case Channel.KEEPALIVE:
      return b.length > FLAP_HEADER_BYTES + length && b[FLAP_HEADER_BYTES + length] === FLAP_MARKER;
    default:
      return false;
  }
}
