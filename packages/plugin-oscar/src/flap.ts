/**
 * FLAP, OSCAR's outer framing: a start marker 0x2A, the channel (1 sign-on, 2 SNAC data, 3 error, 4 sign-off,
 * 5 keep-alive), a sequence number (u16) and the payload length (u16), then the payload.
 */
export const FLAP_MARKER = 0x2a;
export const FLAP_HEADER_BYTES = 6;
/** The length field is a u16: no FLAP is longer. */
export const MAX_FLAP_BYTES = FLAP_HEADER_BYTES + 0xffff;

export const Channel = {
  SIGNON: 1,
  SNAC: 2,
  ERROR: 3,
  SIGNOFF: 4,
  KEEPALIVE: 5,
} as const;

export interface FlapHeader {
  channel: number;
  sequence: number;
  length: number;
}

/** Reads the header from the first 6 bytes (the caller checked there are 6). */
export function decodeFlapHeader(bytes: Uint8Array): FlapHeader {
  return { channel: bytes[1]!, sequence: (bytes[2]! << 8) | bytes[3]!, length: (bytes[4]! << 8) | bytes[5]! };
}

/**
 * Whether 6 bytes look like a FLAP header well enough to resynchronise on after garbage: the marker, a known
 * channel, and a length that fits what the channel carries (a SNAC needs its 10-byte header, a sign-on its
 * 4-byte version).
 */
export function plausibleHeader(bytes: Uint8Array, maxFlap: number): boolean {
  if (bytes[0] !== FLAP_MARKER) return false;
  const { channel, length } = decodeFlapHeader(bytes);
  if (FLAP_HEADER_BYTES + length > maxFlap) return false;
  switch (channel) {
    case Channel.SIGNON:
      return length >= 4;
    case Channel.SNAC:
      return length >= 10;
    case Channel.SIGNOFF:
    case Channel.KEEPALIVE:
      return true;
    default:
      return false;
  }
}

/** A FLAP with the given channel, sequence number and payload (the caller keeps it within 65535 bytes). */
export function encodeFlap(channel: number, sequence: number, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(FLAP_HEADER_BYTES + payload.length);
  out[0] = FLAP_MARKER;
  out[1] = channel;
  out[2] = (sequence >> 8) & 0xff;
  out[3] = sequence & 0xff;
  out[4] = (payload.length >> 8) & 0xff;
  out[5] = payload.length & 0xff;
  out.set(payload, FLAP_HEADER_BYTES);
  return out;
}
