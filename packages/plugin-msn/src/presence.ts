/**
 * MSN presence: the status codes of `CHG`, `NLN`, `ILN` and `FLN` in imspect's words, and the personal message of
 * a `UUX`/`UBX` payload. Parsing only: the session decides which event a command gives.
 */
import { presenceData, utf8, type EventData, type PresenceStatus } from '@imspect/sdk';
import { bareId } from './commands.js';

const STATUSES = new Map<string, PresenceStatus>([
  ['NLN', 'online'],
  ['BSY', 'busy'],
  ['IDL', 'idle'],
  ['BRB', 'be-right-back'],
  ['AWY', 'away'],
  ['PHN', 'on-the-phone'],
  ['LUN', 'out-to-lunch'],
  ['HDN', 'invisible'],
  ['FLN', 'offline'],
]);

/** The normalised status of a three-letter code (`unknown` for one MSN never defined). */
export function msnStatus(code: string): PresenceStatus {
  if (code.length === 0) return 'unknown';
  return STATUSES.get(code.toUpperCase()) ?? 'unknown';
}

/** A contact's status line: who, and the code. `NLN st id ...`, `ILN trid st id ...`, `FLN id ...`. */
export interface ContactStatus {
  contact: string;
  code: string;
}

export function contactStatusOf(command: string, words: readonly string[]): ContactStatus | undefined {
  switch (command) {
    case 'NLN':
      return words.length >= 3 && words[2]!.length > 0 ? { contact: bareId(words[2]!), code: words[1]! } : undefined;
    case 'ILN':
      return words.length >= 4 && words[3]!.length > 0 ? { contact: bareId(words[3]!), code: words[2]! } : undefined;
    case 'FLN':
      return words.length >= 2 && words[1]!.length > 0 ? { contact: bareId(words[1]!), code: 'FLN' } : undefined;
    default:
      return undefined;
  }
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function unescapeXml(text: string): string {
  return text.replace(/&(#x[0-9a-f]+|#\d+|amp|lt|gt|quot|apos);/gi, (whole, name: string) => {
    if (name[0] === '#') {
      const code = name[1] === 'x' || name[1] === 'X' ? Number.parseInt(name.slice(2), 16) : Number.parseInt(name.slice(1), 10);
      return Number.isInteger(code) && code >= 0 && code <= 0x10ffff ? String.fromCodePoint(code) : whole;
    }
    return ENTITIES[name.toLowerCase()] ?? whole;
  });
}

/** The personal message (`<PSM>`) of a `UUX`/`UBX` payload; undefined when it has none. */
export function personalMessage(payload: Uint8Array): string | undefined {
  const match = /<PSM>([\s\S]*?)<\/PSM>/.exec(utf8(payload));
  return match === null ? undefined : unescapeXml(match[1]!);
}

/** The data of a presence event for `code` (a description only when there is one). */
export function msnPresenceData(code: string, description?: string): EventData {
  return presenceData({ status: msnStatus(code), 'protocol-status': code, ...(description !== undefined ? { description } : {}) });
}
