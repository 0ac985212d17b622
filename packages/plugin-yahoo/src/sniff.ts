/** YMSG from the first bytes of either side: every packet starts with "YMSG". */
import type { Direction } from '@imspect/sdk';
import { startsWithMagic } from './packet.js';

export function sniffYmsg(firstBytes: Uint8Array, _direction: Direction): boolean {
  return firstBytes.length >= 4 && startsWithMagic(firstBytes);
}
