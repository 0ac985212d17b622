/**
 * Incremental framing of one direction of an MSNP stream: command lines, and for payload commands the line
 * together with its counted payload. No I/O, nothing thrown: every byte pushed comes out exactly once.
 *
 * Memory is bounded by the line limit plus the payload limit. A payload longer than the limit is reported
 * (`payload-too-large`) and then handed out as it arrives, counted but not buffered, so framing stays in step
 * with the stream and the client is never held up.
 */
import { LineFramer, latin1, type Framer, type ProtocolError } from '@imspect/sdk';
import { splitCommand, type CommandLine, type PayloadLength } from './commands.js';

export interface CommandItem {
  kind: 'command';
  /** Line (with its terminator) and payload, as they arrived. */
  raw: Uint8Array;
  /** The line without its terminator, one character per byte. */
  text: string;
  line: CommandLine;
  /** Length of the line with its terminator: `raw.subarray(lineLength)` is the payload. */
  lineLength: number;
  payload?: Uint8Array;
  error?: ProtocolError;
}

/** Bytes that are not a parsed command: the tail of an over-long line or of an oversized payload. */
export interface PassItem {
  kind: 'pass';
  raw: Uint8Array;
  error?: ProtocolError;
}

export type FramerItem = CommandItem | PassItem;

/** A payload command starting inside a line and running to its end: `MSG 5 N 130`, `MSG a@b name 130`. */
const EMBEDDED_COMMAND = /(?<=[^A-Z])(?:MSG|UUM|UBM|SDG) [^ ]+(?: [^ ]+){1,4} \d+$/g;

export class MsnFramer implements Framer<FramerItem> {
  private readonly reader: LineFramer;
  /** A payload command whose payload is still arriving. */
  private pending: { raw: Uint8Array; text: string; line: CommandLine; length: number } | undefined;
  /** Bytes of an oversized payload still to hand out unbuffered (Infinity: the rest of the stream). */
  private skip = 0;

  constructor(
    readonly maxLineBytes: number,
    readonly maxPayloadBytes: number,
    private readonly lengthOf: (line: CommandLine) => PayloadLength,
  ) {
    this.reader = new LineFramer(maxLineBytes);
  }

  push(chunk: Uint8Array): void {
    this.reader.push(chunk);
  }

  next(): FramerItem | undefined {
    const reader = this.reader;
    if (this.skip > 0) {
      const n = Math.min(this.skip, reader.buffered);
      if (n === 0) return undefined;
      this.skip -= n;
      return { kind: 'pass', raw: reader.readBytes(n)! };
    }
    if (this.pending) {
      const payload = reader.readBytes(this.pending.length);
      if (payload === undefined) return undefined;
      const { raw, text, line } = this.pending;
      this.pending = undefined;
      return { kind: 'command', raw: join(raw, payload), text, line, lineLength: raw.byteLength, payload };
    }
    const item = reader.next();
    if (item === undefined) return undefined;
    if (item.kind === 'too-large') {
      return { kind: 'pass', raw: item.raw, error: { code: 'frame-too-large', message: `MSN line longer than ${this.maxLineBytes} bytes; passed through unparsed` } };
    }
    if (item.kind === 'rest') return { kind: 'pass', raw: item.raw };
    const text = latin1(item.raw.subarray(0, item.contentLength));
    const line = splitCommand(text);
    const length = this.lengthOf(line);
    if (length.kind === 'none') return { kind: 'command', raw: item.raw, text, line, lineLength: item.raw.byteLength };
    if (length.kind === 'bad') {
      return {
        kind: 'command',
        raw: item.raw,
        text,
        line,
        lineLength: item.raw.byteLength,
        error: { code: 'bad-length', message: `MSN ${line.command}: payload length "${clip(length.word)}" is not a byte count; the line is passed on without a payload` },
      };
    }
    if (length.length > this.maxPayloadBytes) {
      this.skip = length.length;
      return {
        kind: 'pass',
        raw: item.raw,
        error: {
          code: 'payload-too-large',
          message: `MSN ${line.command}: payload of ${Number.isFinite(length.length) ? length.length : 'more than 10^15'} bytes exceeds the limit of ${this.maxPayloadBytes}; passed through unparsed`,
        },
      };
    }
    if (length.length === 0) return { kind: 'command', raw: item.raw, text, line, lineLength: item.raw.byteLength, payload: item.raw.subarray(item.raw.byteLength) };
    this.pending = { raw: item.raw, text, line, length: length.length };
    return this.next();
  }

  /**
   * Out of step, a payload without a line end runs into the next command line (`...from aliceMSG 5 N 130`):
   * when `text` (a line just handed out) ends in a payload command, its payload is read next, as a command
   * item of the payload bytes alone (`lineLength` 0). Returns the command line found, if any.
   */
  resumeInside(text: string): CommandLine | undefined {
    if (this.pending || this.skip > 0) return undefined;
    for (const match of text.matchAll(EMBEDDED_COMMAND)) {
      const line = splitCommand(text.slice(match.index));
      const length = this.lengthOf(line);
      if (length.kind !== 'length' || length.length > this.maxPayloadBytes) continue;
      this.pending = { raw: new Uint8Array(0), text: text.slice(match.index), line, length: length.length };
      return line;
    }
    return undefined;
  }

  /** Everything held (an incomplete line or payload), as one buffer; the framer starts afresh. */
  end(): Uint8Array | undefined {
    const held = this.pending?.raw;
    this.pending = undefined;
    this.skip = 0;
    const rest = this.reader.end();
    if (held === undefined) return rest;
    return rest === undefined ? held : join(held, rest);
  }

  /** Bytes held, including a complete line waiting for its payload. */
  get buffered(): number {
    return this.reader.buffered + (this.pending?.raw.byteLength ?? 0);
  }
}

/** `a` then `b`: a view when they are adjacent in one buffer, else one copy. */
function join(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (b.byteLength === 0) return a;
  if (a.buffer === b.buffer && a.byteOffset + a.byteLength === b.byteOffset) return new Uint8Array(a.buffer, a.byteOffset, a.byteLength + b.byteLength);
  const out = new Uint8Array(a.byteLength + b.byteLength);
  out.set(a, 0);
  out.set(b, a.byteLength);
  return out;
}

function clip(word: string): string {
  return word.length > 24 ? `${word.slice(0, 24)}...` : word;
}
