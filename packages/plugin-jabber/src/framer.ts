/**
 * `StanzaFramer`: cuts one direction of an XMPP stream into frames that are exact byte ranges of the input: the
 * XML declaration, the stream header (`<stream:stream ...>`, an element that stays open), each stanza or
 * nonza (a complete element at depth 1), the stream's end tag, and the whitespace between them. It is a byte
 * state machine, so it needs no buffer beyond the current frame: any cut of the input gives the same frames,
 * and a frame longer than `maxFrameBytes` is reported (its first `maxFrameBytes` bytes) and the rest of it
 * handed out as it arrives, without buffering, until the element ends.
 *
 * It understands just enough XML for framing (tags, quoted attribute values, comments, CDATA, processing
 * instructions, DTDs); the content of a finished stanza is parsed by `parseElement`. Stream restarts (a new
 * header after STARTTLS or SASL) and streams without a header (a capture that missed the start) are framed
 * the same way. Nothing here throws on input. It is the SDK's `Framer`: `push` runs the state machine over the
 * chunk, `next` hands out the items it found, `end` what is left.
 */
import { concatChunks, latin1, type Framer, type ProtocolError } from '@imspect/sdk';
import { isNameByte, isSpace } from './xml.js';

export type ItemKind =
  /** `<?xml ...?>` at stream level. */
  | 'decl'
  /** `<stream:stream ...>`: opens a stream (or restarts it). */
  | 'header'
  /** A complete element at stanza level. */
  | 'stanza'
  /** `</stream:stream>`. */
  | 'close'
  /** Character data at stream level (whitespace keep-alives). */
  | 'text'
  /** A comment, DTD or other markup at stream level (an error in XMPP). */
  | 'markup'
  /** The first `maxFrameBytes` bytes of a frame that is too long. */
  | 'too-large'
  /** More of a frame that was too long, passed through as it arrives. */
  | 'rest'
  /** Bytes before the first recognisable stanza of a stream joined mid-way. */
  | 'skipped';

export interface FramerItem {
  kind: ItemKind;
  raw: Uint8Array;
  error?: ProtocolError;
}

const enum S {
  Text,
  Lt,
  StartName,
  InTag,
  AttrValue,
  TagSlash,
  EndName,
  Pi,
  Bang,
  Comment,
  Cdata,
  Doctype,
  DoctypeQuote,
  /** Mid-stream start: looking for the start tag of a stanza to begin with. */
  Sync,
  SyncName,
}

const LT = 0x3c;
const GT = 0x3e;
const MAX_NAME = 64;

/** Elements that appear at stanza level: a stream joined mid-way resumes framing at one of them. */
const STANZA_NAMES = new Set([
  'message',
  'presence',
  'iq',
  'stream:stream',
  'stream:features',
  'stream:error',
  'auth',
  'challenge',
  'response',
  'success',
  'failure',
  'abort',
  'starttls',
  'proceed',
  'r',
  'a',
  'enable',
  'enabled',
  'resume',
  'resumed',
]);

export class StanzaFramer implements Framer<FramerItem> {
  readonly maxFrameBytes: number;
  private state: S;
  /** Open elements, the stream element included. */
  private depth = 0;
  /** Depth of stanzas: 1 inside a stream, 0 before any header (or after its end). */
  private base = 0;
  private quote = 0;
  /** Name of the tag being read, when it may open or close the stream (stream level only). */
  private name: number[] = [];
  /** Out of step, inside `</...`: an end tag (only the stream's own is taken). */
  private syncEndTag = false;
  private collecting = false;
  private prev = 0;
  private bang = '';
  private brackets = 0;
  /** A frame (markup from `<` on) is in progress; otherwise stream-level text is. */
  private frameOpen = false;
  private oversize = false;
  private frameError: ProtocolError | undefined;
  private textError = false;
  private held: Uint8Array[] = [];
  private heldBytes = 0;
  // Per push:
  private chunk: Uint8Array = new Uint8Array(0);
  private start = 0;
  /** Items found and not yet handed out by `next`, from index `handedOut` on. */
  private out: FramerItem[] = [];
  private handedOut = 0;

  constructor(maxFrameBytes: number, midstream = false) {
    this.maxFrameBytes = Math.max(1, Math.floor(maxFrameBytes));
    this.state = midstream ? S.Sync : S.Text;
  }

  /** Bytes not yet handed out: the frame in progress (at most `maxFrameBytes` once `next` is drained). */
  get buffered(): number {
    let bytes = this.heldBytes;
    for (let i = this.handedOut; i < this.out.length; i++) bytes += this.out[i]!.raw.byteLength;
    return bytes;
  }

  /** What the held bytes are, were the stream to end now: part of a frame (`rest`), `skipped` or `text`. */
  get heldKind(): 'rest' | 'skipped' | 'text' {
    return this.frameOpen ? 'rest' : this.state === S.SyncName ? 'skipped' : 'text';
  }

  next(): FramerItem | undefined {
    if (this.handedOut < this.out.length) return this.out[this.handedOut++];
    if (this.out.length > 0) {
      this.out = [];
      this.handedOut = 0;
    }
    return undefined;
  }

  /** Inside a stream (after its header, before its end tag). */
  get inStream(): boolean {
    return this.base === 1;
  }

  push(chunk: Uint8Array): void {
    this.chunk = chunk;
    this.start = 0;
    const n = chunk.length;
    let i = 0;
    while (i < n) {
      const b = chunk[i]!;
      switch (this.state) {
        case S.Text: {
          const lt = chunk.indexOf(LT, i);
          const end = lt < 0 ? n : lt;
          if (!this.frameOpen && !this.textError) {
            for (let k = i; k < end; k++) {
              if (!isSpace(chunk[k]!)) {
                this.textError = true;
                break;
              }
            }
          }
          if (lt < 0) {
            i = n;
            break;
          }
          if (!this.frameOpen) {
            this.emitRun(lt, 'text');
            this.frameOpen = true;
          }
          this.state = S.Lt;
          i = lt + 1;
          break;
        }
        case S.Lt:
          if (b === 0x2f) {
            this.state = S.EndName;
            this.beginName();
          } else if (b === 0x3f) {
            this.state = S.Pi;
            this.beginName();
            this.prev = 0;
          } else if (b === 0x21) {
            this.state = S.Bang;
            this.bang = '';
          } else if (isNameByte(b)) {
            this.state = S.StartName;
            this.beginName();
            continue; // the byte is the name's first
          } else {
            // '<' that starts nothing: not XML. At stream level it becomes text; in a stanza an error.
            if (this.depth <= this.base) {
              this.frameOpen = false;
              this.textError = true;
            } else this.frameError ??= { code: 'not-well-formed', message: '"<" not followed by a name' };
            this.state = S.Text;
            continue;
          }
          i++;
          break;
        case S.StartName:
          if (isNameByte(b)) {
            this.collect(b);
            i++;
          } else this.state = S.InTag;
          break;
        case S.InTag:
          if (b === 0x22 || b === 0x27) {
            this.quote = b;
            this.state = S.AttrValue;
          } else if (b === 0x2f) this.state = S.TagSlash;
          else if (b === GT) this.startTagEnd(i, false);
          i++;
          break;
        case S.AttrValue: {
          const close = chunk.indexOf(this.quote, i);
          if (close < 0) i = n;
          else {
            i = close + 1;
            this.state = S.InTag;
          }
          break;
        }
        case S.TagSlash:
          if (b === GT) {
            this.startTagEnd(i, true);
            i++;
          } else this.state = S.InTag;
          break;
        case S.EndName:
          if (b === GT) this.endTagEnd(i);
          else if (!isSpace(b)) this.collect(b);
          i++;
          break;
        case S.Pi:
          if (b === GT && this.prev === 0x3f) this.piEnd(i);
          else if (this.name.length < 4) this.collect(b);
          this.prev = b;
          i++;
          break;
        case S.Bang:
          this.bang += String.fromCharCode(b);
          if (this.bang === '--') {
            this.state = S.Comment;
            this.prev = 0;
            this.brackets = 0;
          } else if (this.bang === '[CDATA[') {
            this.state = S.Cdata;
            this.brackets = 0;
          } else if (this.bang === 'DOCTYPE' || !('--'.startsWith(this.bang) || '[CDATA['.startsWith(this.bang) || 'DOCTYPE'.startsWith(this.bang))) {
            // <!DOCTYPE, <!ENTITY, <!ELEMENT ...: declarations are skipped to their end, never interpreted.
            this.state = S.Doctype;
            this.brackets = 0;
            if (b === GT) {
              this.markupEnd(i, 'markup declaration');
              i++;
              break;
            }
            if (b === 0x5b) this.brackets = 1;
          }
          i++;
          break;
        case S.Comment:
          // Counts dashes in `brackets`: `-->` ends the comment.
          if (b === GT && this.brackets >= 2) this.markupEnd(i, 'XML comment');
          else this.brackets = b === 0x2d ? this.brackets + 1 : 0;
          i++;
          break;
        case S.Cdata:
          if (b === GT && this.brackets >= 2) {
            if (this.depth <= this.base) this.markupEnd(i, 'CDATA section at stream level');
            else this.state = S.Text;
          } else this.brackets = b === 0x5d ? this.brackets + 1 : 0;
          i++;
          break;
        case S.Doctype:
          if (b === 0x22 || b === 0x27) {
            this.quote = b;
            this.state = S.DoctypeQuote;
          } else if (b === 0x5b) this.brackets++;
          else if (b === 0x5d) this.brackets--;
          else if (b === GT && this.brackets <= 0) this.markupEnd(i, 'DTD or markup declaration (XMPP forbids them)');
          i++;
          break;
        case S.DoctypeQuote: {
          const close = chunk.indexOf(this.quote, i);
          if (close < 0) i = n;
          else {
            i = close + 1;
            this.state = S.Doctype;
          }
          break;
        }
        case S.Sync: {
          const lt = chunk.indexOf(LT, i);
          if (lt < 0) {
            i = n;
            break;
          }
          this.emitRun(lt, 'skipped');
          this.state = S.SyncName;
          this.name = [];
          i = lt + 1;
          break;
        }
        case S.SyncName:
          if (this.name.length === 0 && b === 0x2f && !this.syncEndTag) {
            // `</`: the stream's own end tag is found out of step too (the client's logout).
            this.syncEndTag = true;
            i++;
            break;
          }
          if (this.syncEndTag && !(isNameByte(b) && this.name.length < MAX_NAME)) {
            this.syncEndTag = false;
            if (b === GT && this.nameIs('stream:stream')) {
              if (this.start > 0 || this.heldBytes > 0) this.emitBefore(i - this.name.length - 2);
              this.frameOpen = true;
              this.emitFrame(i, 'close');
              this.depth = 0;
              this.base = 0;
              this.state = S.Sync;
              i++;
            } else this.state = S.Sync;
            break;
          }
          if (isNameByte(b) && this.name.length < MAX_NAME) {
            this.name.push(b);
            i++;
            break;
          }
          if ((isSpace(b) || b === GT || b === 0x2f) && STANZA_NAMES.has(latin1(Uint8Array.from(this.name)))) {
            // Resume here: a top-level element (or a stream header) starts a frame.
            if (this.start > 0 || this.heldBytes > 0) this.emitBefore(i - this.name.length - 1);
            this.frameOpen = true;
            this.collecting = true;
            this.state = S.InTag;
          } else this.state = S.Sync; // not a stanza start: these bytes are skipped with the next run
          break;
      }
    }
    this.finishPush();
    this.chunk = new Uint8Array(0);
  }

  /** The stream ended (or turns to TLS): the items not handed out and the held bytes, as one buffer. */
  end(): Uint8Array | undefined {
    const parts: Uint8Array[] = [];
    for (let i = this.handedOut; i < this.out.length; i++) parts.push(this.out[i]!.raw);
    parts.push(...this.held);
    const size = parts.reduce((sum, part) => sum + part.byteLength, 0);
    const out = size === 0 ? undefined : parts.length === 1 ? parts[0] : concatChunks(parts, size);
    this.out = [];
    this.handedOut = 0;
    this.held = [];
    this.heldBytes = 0;
    this.frameOpen = false;
    this.oversize = false;
    this.syncEndTag = false;
    this.state = S.Text;
    return out;
  }

  private beginName(): void {
    this.name = [];
    this.collecting = this.depth <= this.base;
  }

  private collect(b: number): void {
    if (this.collecting && this.name.length <= MAX_NAME) this.name.push(b);
  }

  private nameIs(ascii: string): boolean {
    if (this.name.length !== ascii.length) return false;
    for (let k = 0; k < ascii.length; k++) if (this.name[k] !== ascii.charCodeAt(k)) return false;
    return true;
  }

  private startTagEnd(i: number, selfClosing: boolean): void {
    this.state = S.Text;
    if (this.depth > this.base) {
      if (!selfClosing) this.depth++;
      return;
    }
    if (!selfClosing && this.collecting && this.nameIs('stream:stream')) {
      this.emitFrame(i, 'header');
      this.depth = 1;
      this.base = 1;
    } else if (selfClosing) this.emitFrame(i, 'stanza');
    else this.depth++;
  }

  private endTagEnd(i: number): void {
    this.state = S.Text;
    if (this.depth > this.base + 1) {
      this.depth--;
      return;
    }
    if (this.depth === this.base + 1) {
      this.depth--;
      this.emitFrame(i, 'stanza');
      return;
    }
    // An end tag at stream level: the stream's own, or a stray one.
    const isStream = this.nameIs('stream:stream');
    this.emitFrame(i, isStream ? 'close' : 'markup', isStream ? undefined : { code: 'not-well-formed', message: 'end tag without a start tag' });
    this.depth = 0;
    this.base = 0;
  }

  private piEnd(i: number): void {
    this.state = S.Text;
    if (this.depth > this.base) return; // inside a stanza: parseElement reports it
    const decl = this.name.length >= 3 && this.name[0] === 0x78 && this.name[1] === 0x6d && this.name[2] === 0x6c && (this.name.length === 3 || isSpace(this.name[3]!));
    this.emitFrame(i, decl ? 'decl' : 'markup', decl ? undefined : { code: 'restricted-xml', message: 'processing instruction (XMPP forbids them)' });
  }

  private markupEnd(i: number, what: string): void {
    this.state = S.Text;
    const code = what.startsWith('CDATA') ? 'unexpected-text' : 'restricted-xml';
    if (this.depth > this.base) {
      if (!what.startsWith('XML comment')) this.frameError ??= { code, message: what };
      return;
    }
    this.emitFrame(i, 'markup', { code, message: what });
  }

  /** Emits stream-level bytes (text or skipped) up to `end` (exclusive). */
  private emitRun(end: number, kind: 'text' | 'skipped'): void {
    const size = this.heldBytes + (end - this.start);
    if (size > 0) {
      const item: FramerItem = { kind, raw: this.take(end) };
      if (kind === 'text' && this.textError) item.error = { code: 'unexpected-text', message: 'text at stream level' };
      this.out.push(item);
    }
    this.textError = false;
  }

  /** Emits skipped bytes before a resumed stanza (which begins at `at`, possibly in held bytes). */
  private emitBefore(at: number): void {
    if (at >= this.start) {
      if (at > this.start || this.heldBytes > 0) this.out.push({ kind: 'skipped', raw: this.take(at) });
      return;
    }
    // The stanza's '<' lies in the held bytes: split them.
    const held = concatChunks(this.held, this.heldBytes);
    const cut = held.length - (this.start - at);
    if (cut > 0) this.out.push({ kind: 'skipped', raw: held.subarray(0, cut) });
    this.held = [held.subarray(cut)];
    this.heldBytes = held.length - cut;
  }

  /** Emits the frame ending at `i` (inclusive). */
  private emitFrame(i: number, kind: ItemKind, error?: ProtocolError): void {
    const raw = this.take(i + 1);
    const frameError = this.frameError ?? error;
    this.frameError = undefined;
    this.frameOpen = false;
    if (this.oversize) {
      this.oversize = false;
      this.out.push({ kind: 'rest', raw });
      return;
    }
    if (raw.length > this.maxFrameBytes) {
      this.pushTooLarge(raw);
      return;
    }
    const item: FramerItem = { kind, raw };
    if (frameError) item.error = frameError;
    this.out.push(item);
  }

  private pushTooLarge(raw: Uint8Array): void {
    this.out.push({
      kind: 'too-large',
      raw: raw.subarray(0, this.maxFrameBytes),
      error: { code: 'frame-too-large', message: `XMPP element longer than ${this.maxFrameBytes} bytes; passed through unparsed` },
    });
    this.out.push({ kind: 'rest', raw: raw.subarray(this.maxFrameBytes) });
  }

  private finishPush(): void {
    const n = this.chunk.length;
    if (!this.frameOpen && this.state !== S.SyncName) {
      this.emitRun(n, this.state === S.Sync ? 'skipped' : 'text');
      return;
    }
    if (this.oversize) {
      if (n > this.start) this.out.push({ kind: 'rest', raw: this.chunk.subarray(this.start) });
      this.start = n;
      return;
    }
    const total = this.heldBytes + (n - this.start);
    if (total > this.maxFrameBytes && this.frameOpen) {
      this.pushTooLarge(this.take(n));
      this.oversize = true;
      return;
    }
    if (n > this.start) {
      this.held.push(this.chunk.subarray(this.start));
      this.heldBytes = total;
      this.start = n;
    }
  }

  /** Held bytes plus the chunk up to `end` (exclusive): a view when nothing is held. */
  private take(end: number): Uint8Array {
    const part = this.chunk.subarray(this.start, end);
    this.start = end;
    if (this.heldBytes === 0) return part;
    const raw = concatChunks([...this.held, part], this.heldBytes + part.length);
    this.held = [];
    this.heldBytes = 0;
    return raw;
  }
}
