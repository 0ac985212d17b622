/**
 * MSNP command lines: `CMD trid args\r\n`, and which of them carry a counted payload after the line.
 *
 * A payload command has the payload's byte length as its last argument. Several commands also exist without a
 * payload in one direction or version (`ADL trid OK`, `QRY trid` from the server, `GCF trid name` from the
 * client), so a command carries a payload only when it has at least the number of words its payload form has
 * and its last word is a length.
 */

export interface CommandLine {
  /** The words of the line, split on single or repeated spaces. */
  words: string[];
  /** Upper-case command (first word). */
  command: string;
}

/**
 * Fewest words (command included) of the payload form of each payload command, over MSNP8 to MSNP21.
 * `MSG trid U len` / `MSG email name len`; `UUX trid len` / `UBX email len`; `NOT len`; `ADL trid len`;
 * `UUN trid email type len`; `UBN email type len`; `UUM trid email net type len`; `UBM email net type len`;
 * `GCF trid name len`; `QRY trid id len`; `IPG len`; `SDG trid len`; MSNP21 `PUT trid len`, `NFY PUT len`,
 * `DEL trid len`.
 */
const PAYLOAD_WORDS: ReadonlyMap<string, number> = new Map([
  ['MSG', 4],
  ['UUX', 3],
  ['UBX', 3],
  ['NOT', 2],
  ['ADL', 3],
  ['RML', 3],
  ['FQY', 3],
  ['UUN', 5],
  ['UBN', 4],
  ['UUM', 6],
  ['UBM', 5],
  ['GCF', 3],
  ['QRY', 4],
  ['IPG', 2],
  ['SDG', 3],
  ['PUT', 3],
  ['NFY', 3],
  ['DEL', 3],
]);

/** The protocol version from which numeric error replies may carry a payload (`241 trid len`). */
export const NUMERIC_PAYLOAD_FROM_VERSION = 13;

export function splitCommand(text: string): CommandLine {
  const words = text.split(' ').filter((w) => w.length > 0);
  return { words, command: (words[0] ?? '').toUpperCase() };
}

export type PayloadLength =
  | { kind: 'none' }
  | { kind: 'length'; length: number }
  /** The command should carry a length but its last word is not a non-negative decimal number. */
  | { kind: 'bad'; word: string };

const DIGITS = /^\d+$/;

/**
 * Whether a line is followed by a payload, and its length. `version` is the negotiated MSNP version (0 when
 * unknown, e.g. on a switchboard).
 */
export function payloadLength(line: CommandLine, version: number): PayloadLength {
  const { words, command } = line;
  const min = PAYLOAD_WORDS.get(command);
  let expected = min !== undefined && words.length >= min;
  // MSNP13+ errors: `241 trid len` (3 words, last numeric). Before MSNP13 `911 trid` has no payload.
  if (!expected && version >= NUMERIC_PAYLOAD_FROM_VERSION && words.length >= 3 && /^\d{3}$/.test(command)) expected = DIGITS.test(words.at(-1)!);
  if (!expected) return { kind: 'none' };
  const last = words.at(-1)!;
  if (DIGITS.test(last)) return { kind: 'length', length: last.length > 15 ? Number.POSITIVE_INFINITY : Number(last) };
  // `ADL trid OK`, `QRY trid` ...: forms without a payload. A signed or malformed number is a broken length.
  if (/^[-+]?\d/.test(last) || (command === 'MSG' && words.length === 4)) return { kind: 'bad', word: last };
  return { kind: 'none' };
}

/** `MSNP15` -> 15; anything else -> 0. */
export function versionNumber(word: string): number {
  const m = /^MSNP(\d{1,3})$/i.exec(word);
  return m ? Number(m[1]) : 0;
}

/** Removes an MSNP18 endpoint suffix (`;{guid}`) and an MSNP18+ network prefix (`1:`). */
export function bareId(id: string): string {
  let out = id;
  const semi = out.indexOf(';');
  if (semi >= 0) out = out.slice(0, semi);
  const m = /^\d{1,2}:(.+)$/.exec(out);
  if (m) out = m[1]!;
  return out;
}

/** Percent-decoding of display names (`T4e`, `Bob%20Smith`); bad escapes are kept as they are. */
export function decodeName(name: string): string {
  try {
    return decodeURIComponent(name);
  } catch {
    return name;
  }
}
