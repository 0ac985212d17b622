/**
 * Recognising IRC from the first bytes of a connection, strictly enough not to claim POP3, FTP, SMTP or HTTP.
 *
 * Client side: every line must be a registration command (CAP, NICK, USER, PASS, STARTTLS, WEBIRC) and at
 * least one must say IRC unambiguously: `CAP LS|REQ|END`, `NICK <nick>`, `USER` with its four parameters,
 * or `STARTTLS` alone on the first line. (`USER bob` / `PASS x` alone are POP3 or FTP as much as IRC.)
 * Server side (servers that speak first): `:server NOTICE * :...`, `:server NOTICE AUTH :...`,
 * `NOTICE AUTH :...` or a numeric to `*`.
 */
import type { Direction } from '@imspect/sdk';
import { latin1String } from './text.js';

const REGISTRATION = new Set(['CAP', 'NICK', 'USER', 'PASS', 'STARTTLS', 'WEBIRC']);
const NICK = /^[A-Za-z[\]\\`_^{|}][A-Za-z0-9[\]\\`_^{|}-]*$/;
const SERVER_GREETING = /^(?:@\S+ +)?(?::[^\s!@]+ +(?:NOTICE +(?:\*|AUTH) +:|\d{3} +\* )|NOTICE +AUTH +:)/i;
const MAX_LINES = 6;

export function sniffIrc(firstBytes: Uint8Array, direction: Direction): boolean {
  const text = latin1String(firstBytes.subarray(0, 4096));
  if (direction === 'incoming') return SERVER_GREETING.test(text.replace(/^ +/, ''));
  const lines = text.split('\n');
  let decisive = false;
  for (let i = 0; i < lines.length && i < MAX_LINES; i++) {
    const complete = i < lines.length - 1;
    const line = lines[i]!.replace(/\r$/, '')
      .replace(/^ +/, '')
      .replace(/^@\S+ +/, '');
    if (line.length === 0) {
      if (complete && i === 0) return false;
      continue;
    }
    const words = line.split(/ +/).filter((w) => w.length > 0);
    const command = words[0]!;
    if (!complete && words.length === 1 && !line.endsWith(' ')) {
      // A command still arriving: fine if it can become a registration command.
      if (![...REGISTRATION].some((c) => c.startsWith(command))) return false;
      continue;
    }
    const upper = command.toUpperCase();
    if (!REGISTRATION.has(upper) || command !== upper) return false;
    if (upper === 'CAP' && /^(?:LS|REQ|END)$/.test(words[1] ?? '')) decisive = true;
    if (upper === 'NICK' && words.length >= 2 && NICK.test(words[1]!.replace(/^:/, ''))) decisive = true;
    if (upper === 'USER' && userParams(line) >= 4) decisive = true;
    if (upper === 'STARTTLS' && i === 0 && words.length === 1 && complete) decisive = true;
  }
  return decisive;
}

function userParams(line: string): number {
  const colon = line.indexOf(' :');
  const middle = (colon < 0 ? line : line.slice(0, colon)).split(/ +/).filter((w) => w.length > 0).length - 1;
  return middle + (colon < 0 ? 0 : 1);
}
