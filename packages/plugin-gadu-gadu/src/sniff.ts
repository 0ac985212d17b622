/**
 * Gadu-Gadu from the first bytes: the server speaks first, with GG_WELCOME (type 1, length 4, the seed). A
 * client's first packet is a login (types 0x0c to 0x83, with the lengths those have). Used on ports other than
 * 8074, e.g. 443, where the protocol ran in the clear too.
 */
import type { Direction } from '@imspect/sdk';
import { isLoginType } from './login.js';
import { HEADER_BYTES, In, isPlausible } from './packet-types.js';

function u32(bytes: Uint8Array, at: number): number {
  return (bytes[at]! | (bytes[at + 1]! << 8) | (bytes[at + 2]! << 16) | (bytes[at + 3]! << 24)) >>> 0;
}

export function sniffGaduGadu(firstBytes: Uint8Array, direction: Direction): boolean {
  if (firstBytes.length < HEADER_BYTES) return false;
  const type = u32(firstBytes, 0);
  const length = u32(firstBytes, 4);
  if (direction === 'incoming') return type === In.WELCOME && length === 4;
  return isLoginType(type) && isPlausible('outgoing', type, length);
}
