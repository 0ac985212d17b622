/**
 * Recognising MSNP from a client's first line: `VER trid MSNPn ...` on a dispatch or notification server,
 * `USR trid email cookie` or `ANS trid email cookie sessid` on a switchboard.
 */
import { latin1, type Direction } from '@imspect/sdk';

const VER = /^VER \d+ (?:MSNP\d+ )*MSNP\d+(?: CVR\d+)?\r?\n/;
const SB = /^(?:USR \d+ \S+@\S+ \S+|ANS \d+ \S+@\S+ \S+ \S+)\r?\n/;

export function sniffMsn(firstBytes: Uint8Array, direction: Direction): boolean {
  if (direction !== 'outgoing') return false;
  const text = latin1(firstBytes.subarray(0, 512));
  return VER.test(text) || SB.test(text);
}
