/**
 * One IRC line: `[@tags] [:prefix] COMMAND [params] [:trailing]` (RFC 1459/2812, IRCv3 message-tags).
 * Parsing is lenient about whitespace (runs of spaces, leading spaces) and keeps the byte offset of every
 * parameter so an encoder can replace one of them and keep every other byte as it was.
 */
import type { ProtocolError } from '@imspect/sdk';
import { decodeTextRange, isAsciiRange, latin1Range, type DecodedText } from './text.js';

export interface IrcParam {
  /** Byte offsets in the line (for a trailing parameter, after its colon). */
  start: number;
  end: number;
  /** Introduced by a colon (the last parameter, may contain spaces). */
  trailing: boolean;
  /** The bytes as Latin-1 (one character per byte). Use {@link IrcMessage.decode} for display text. */
  value: string;
}

export interface IrcPrefix {
  /** Latin-1, as on the wire. */
  raw: string;
  /** Part before `!` / `@` (the nick, or a server name). */
  name: string;
  /** True when the prefix is `nick!user@host` or `nick@host`. */
  hasUserHost: boolean;
  /** Byte offsets of `name` in the line. */
  nameStart: number;
  nameEnd: number;
}

export interface IrcMessage {
  /** The whole line as received, terminator included. */
  bytes: Uint8Array;
  /** Bytes before the terminator. */
  contentLength: number;
  /** Message tags (unescaped values; empty string for a tag without value). */
  tags: Map<string, string> | undefined;
  prefix: IrcPrefix | undefined;
  /** Upper-cased command or three-digit numeric. */
  command: string;
  params: IrcParam[];
  /** Something malformed that did not stop the parse (bad tags, a NUL byte). */
  error: ProtocolError | undefined;
}

export type ParseResult =
  | { kind: 'message'; message: IrcMessage }
  /** Only whitespace: servers ignore such lines. */
  | { kind: 'empty' }
  | { kind: 'malformed'; error: ProtocolError };

const SPACE = 0x20;
/** {@link parseLine}'s working array (it does not call out while filling it, so one is enough). */
const SCRATCH_PARAMS: IrcParam[] = [];
const TAG_KEY = /^\+?(?:[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\/)?[A-Za-z0-9-]+$/;

export function parseLine(bytes: Uint8Array, contentLength: number): ParseResult {
  const line = latin1Range(bytes, 0, contentLength);
  let error: ProtocolError | undefined;
  if (line.includes('\0')) error = { code: 'malformed-line', message: 'NUL byte in line' };

  let i = skipSpaces(line, 0);
  if (i >= line.length) return error ? { kind: 'malformed', error } : { kind: 'empty' };

  let tags: Map<string, string> | undefined;
  if (line.charCodeAt(i) === 0x40 /* @ */) {
    const end = tokenEnd(line, i);
    const parsed = parseTags(line.slice(i + 1, end));
    tags = parsed.tags;
    if (parsed.bad && !error) error = { code: 'malformed-tags', message: 'malformed message tags' };
    i = skipSpaces(line, end);
  }

  let prefix: IrcPrefix | undefined;
  if (i < line.length && line.charCodeAt(i) === 0x3a /* : */) {
    const end = tokenEnd(line, i);
    const raw = line.slice(i + 1, end);
    if (raw.length === 0) {
      if (!error) error = { code: 'malformed-line', message: 'empty prefix' };
    } else {
      let nameLength = raw.length;
      const bang = raw.indexOf('!');
      const at = raw.indexOf('@');
      if (bang >= 0) nameLength = bang;
      if (at >= 0 && at < nameLength) nameLength = at;
      prefix = {
        raw,
        name: raw.slice(0, nameLength),
        hasUserHost: bang >= 0 || at >= 0,
        nameStart: i + 1,
        nameEnd: i + 1 + nameLength,
      };
    }
    i = skipSpaces(line, end);
  }

  const commandEnd = tokenEnd(line, i);
  const command = commandName(line, i, commandEnd);
  if (command === undefined) {
    return {
      kind: 'malformed',
      error: error ?? {
        code: 'malformed-line',
        message: commandEnd === i ? 'line without a command' : 'invalid command',
      },
    };
  }

  // Gathered in one reused array and copied out at their count: an array grown by `push` from empty reserves
  // room for 17 (most lines have two or three parameters).
  const scratch = SCRATCH_PARAMS;
  let count = 0;
  i = skipSpaces(line, commandEnd);
  while (i < line.length) {
    if (line.charCodeAt(i) === 0x3a) {
      scratch[count++] = { start: i + 1, end: line.length, trailing: true, value: line.slice(i + 1) };
      break;
    }
    const end = tokenEnd(line, i);
    scratch[count++] = { start: i, end, trailing: false, value: line.slice(i, end) };
    i = skipSpaces(line, end);
  }
  const params = scratch.slice(0, count);
  scratch.fill(undefined as unknown as IrcParam, 0, count);

  return {
    kind: 'message',
    message: { bytes, contentLength, tags, prefix, command, params, error },
  };
}

/** Decodes bytes `start..end` of the line (UTF-8, or Latin-1 when not valid UTF-8). */
export function decodeRange(message: IrcMessage, start: number, end: number): DecodedText {
  return decodeTextRange(message.bytes, start, end);
}

/**
 * Display text of bytes `start..end` whose Latin-1 string is `latin1` already: the same string when the
 * bytes are ASCII (nothing to decode, nothing new allocated), else the decoded text.
 */
export function rangeText(message: IrcMessage, start: number, end: number, latin1: string): string {
  return isAsciiRange(message.bytes, start, end) ? latin1 : decodeTextRange(message.bytes, start, end).text;
}

/** A parameter as display text. */
export function paramText(message: IrcMessage, index: number): string | undefined {
  const param = message.params[index];
  return param === undefined ? undefined : rangeText(message, param.start, param.end, param.value);
}

/**
 * The command at `start..end`, upper-cased: letters only, or exactly three digits. Undefined when it is
 * neither (or empty).
 */
function commandName(line: string, start: number, end: number): string | undefined {
  if (end <= start) return undefined;
  const first = line.charCodeAt(start);
  if (first >= 0x30 && first <= 0x39) {
    if (end - start !== 3) return undefined;
    for (let k = start + 1; k < end; k++) {
      const c = line.charCodeAt(k);
      if (c < 0x30 || c > 0x39) return undefined;
    }
    return line.slice(start, end);
  }
  let lower = false;
  for (let k = start; k < end; k++) {
    const c = line.charCodeAt(k);
    if (c >= 0x61 && c <= 0x7a) lower = true;
    else if (c < 0x41 || c > 0x5a) return undefined;
  }
  const command = line.slice(start, end);
  return lower ? command.toUpperCase() : command;
}

function skipSpaces(line: string, i: number): number {
  while (i < line.length && line.charCodeAt(i) === SPACE) i++;
  return i;
}

function tokenEnd(line: string, i: number): number {
  const end = line.indexOf(' ', i);
  return end < 0 ? line.length : end;
}

function parseTags(raw: string): { tags: Map<string, string>; bad: boolean } {
  const tags = new Map<string, string>();
  let bad = raw.length === 0;
  for (const item of raw.split(';')) {
    if (item.length === 0) continue;
    const eq = item.indexOf('=');
    const key = eq < 0 ? item : item.slice(0, eq);
    if (!TAG_KEY.test(key)) {
      bad = true;
      continue;
    }
    tags.set(key, eq < 0 ? '' : unescapeTagValue(item.slice(eq + 1)));
  }
  return { tags, bad };
}

function unescapeTagValue(value: string): string {
  if (!value.includes('\\')) return value;
  let out = '';
  for (let i = 0; i < value.length; i++) {
    const c = value[i]!;
    if (c !== '\\') {
      out += c;
      continue;
    }
    const next = value[++i];
    if (next === undefined) break;
    out += next === ':' ? ';' : next === 's' ? ' ' : next === 'r' ? '\r' : next === 'n' ? '\n' : next;
  }
  return out;
}
