/**
 * Recognising MSN from a client's first line: `VER trid MSNPn ...` on a dispatch or notification server,
 * `USR trid email cookie` or `ANS trid email cookie sessid` on a switchboard, and a request to MSN's HTTP gateway
 * (`POST /gateway/gateway.dll?...`, or `POST http://host/gateway/gateway.dll?...` through a proxy).
 */
import { latin1, type Direction } from '@imspect/sdk';

const VER = /^VER \d+ (?:MSNP\d+ )*MSNP\d+(?: CVR\d+)?\r?\n/;
const SB = /^(?:USR \d+ \S+@\S+ \S+|ANS \d+ \S+@\S+ \S+ \S+)\r?\n/;
const GATEWAY = /^POST (?:http:\/\/[^/?#\s]+)?\/gateway\/gateway\.dll(?:\?\S*)? HTTP\/1\.[01]\r?\n/i;

export function sniffMsn(firstBytes: Uint8Array, direction: Direction, options: { gateway?: boolean } = {}): boolean {
  if (direction !== 'outgoing') return false;
  const text = latin1(firstBytes.subarray(0, 2048));
  return VER.test(text) || SB.test(text) || (options.gateway !== false && GATEWAY.test(text));
}
