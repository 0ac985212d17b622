/**
 * Builds bytes to send: a message line with new text (everything else kept byte for byte), and NOTICE
 * lines the gateway injects towards the local client.
 */
import type { IrcMessage, IrcParam } from './message.js';
import { concatChunks, encodeUtf8 } from '@imspect/sdk';
import { encodeText, type TextEncoding } from './text.js';

/** Where the text sits in a line: a parameter, and the part of it that is the text (inside any CTCP wrapping). */
export interface TextSlot {
  param: IrcParam;
  /** Byte offsets of the text in the line (equal to the parameter's for plain text). */
  start: number;
  end: number;
  encoding: TextEncoding;
  /** The text sits inside CTCP delimiters: \x01 must not appear in it. */
  insideCtcp: boolean;
}

/** Line length limit of RFC 1459, CR LF included (tags excluded). */
export const IRC_LINE_BYTES = 512;

/** Removes what would end the line early or break framing: CR, LF, NUL (and \x01 inside CTCP). */
export function cleanText(text: string, insideCtcp = false): string {
  return text.replace(insideCtcp ? /[\r\n\0\x01]/g : /[\r\n\0]/g, '');
}

/** The line with the slot's text replaced by `text`, keeping tags, prefix, command, target and line ending. */
export function rewriteText(message: IrcMessage, slot: TextSlot, text: string): Uint8Array {
  const { bytes, contentLength } = message;
  const encoded = encodeText(cleanText(text, slot.insideCtcp), slot.encoding);
  const { param } = slot;
  const plainMiddle = !param.trailing && slot.start === param.start && slot.end === param.end;
  const middleSafe = encoded.length > 0 && !encoded.includes(0x20) && encoded[0] !== 0x3a;
  if (param.trailing || (plainMiddle && middleSafe)) {
    return concatChunks([bytes.subarray(0, slot.start), encoded, bytes.subarray(slot.end)]);
  }
  // A middle parameter cannot hold spaces: turn it into the trailing one. Servers ignore any parameter
  // after the text, so nothing that reaches the other side is lost.
  return concatChunks([
    bytes.subarray(0, param.start),
    new Uint8Array([0x3a]),
    bytes.subarray(param.start, slot.start),
    encoded,
    bytes.subarray(slot.end, param.end),
    bytes.subarray(contentLength),
  ]);
}

/** Strips what may not appear in a prefix or a target. */
function cleanToken(token: string): string {
  return token.replace(/[\r\n\0 \x01]/g, '');
}

/** The source of a NOTICE imspect writes into a conversation: a user-like prefix clients show in that window. */
export const GATEWAY_USER = 'imspect';
export const GATEWAY_HOST = 'gateway';

/**
 * `:<source> NOTICE <target> :<text>\r\n`, split over as many lines as needed so each fits in 512 bytes
 * (at character boundaries, at a space when there is one in the second half of the piece). `source` is a
 * server name or a `nick!user@host` prefix; `target` the local nick or a channel. The text loses CR, LF and
 * NUL (they would end the line) and \x01 (a NOTICE starting with it is a CTCP reply, not text to show).
 */
export function buildNotices(source: string, target: string, text: string): Uint8Array | undefined {
  const to = cleanToken(target);
  const from = cleanToken(source) || 'imspect';
  if (to.length === 0) return undefined;
  const header = encodeUtf8(`:${from} NOTICE ${to} :`);
  // A pathological (huge) nick still gets a usable amount of text per line.
  const budget = Math.max(IRC_LINE_BYTES - 2 - header.length, 64);
  const lines: Uint8Array[] = [];
  const crlf = new Uint8Array([0x0d, 0x0a]);
  for (const piece of splitText(cleanText(text, true), budget)) lines.push(header, encodeUtf8(piece), crlf);
  return concatChunks(lines);
}

/** Splits text into pieces of at most `budget` UTF-8 bytes, never inside a character. */
export function splitText(text: string, budget: number): string[] {
  const pieces: string[] = [];
  let rest = text;
  while (encodeUtf8(rest).length > budget) {
    let bytes = 0;
    let cut = 0;
    for (const ch of rest) {
      const size = encodeUtf8(ch).length;
      if (bytes + size > budget) break;
      bytes += size;
      cut += ch.length;
    }
    if (cut === 0) cut = rest.length; // a single character wider than the budget: cannot happen for budget >= 4
    const space = rest.lastIndexOf(' ', cut);
    const at = space > cut / 2 ? space : cut;
    pieces.push(rest.slice(0, at));
    rest = rest.slice(at === space ? at + 1 : at);
  }
  pieces.push(rest);
  return pieces;
}
