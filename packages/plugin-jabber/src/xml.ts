/**
 * The restricted XML of XMPP (RFC 6120 section 11), parsed from the complete bytes of one stanza or one
 * stream header. No DTDs, no entity declarations, no external anything: only the five predefined entities and
 * character references are decoded, so no input can make this parser expand or fetch. Offsets are byte
 * offsets into the input, so a stanza can be re-encoded with one part replaced and every other byte kept.
 */
import { isUtf8 } from 'node:buffer';
import type { ProtocolError } from '@imspect/sdk';

export const NS_XML = 'http://www.w3.org/XML/1998/namespace';
export const NS_STREAM = 'http://etherx.jabber.org/streams';
export const NS_CLIENT = 'jabber:client';

/** Prefix -> namespace URI; '' is the default namespace. Inherited by copying on write. */
export type NsScope = ReadonlyMap<string, string>;

export function defaultScope(): Map<string, string> {
  return new Map([
    ['', NS_CLIENT],
    ['xml', NS_XML],
    ['stream', NS_STREAM],
  ]);
}

export interface XElement {
  /** Qualified name as written (`stream:features`, `body`). */
  qname: string;
  local: string;
  ns: string;
  /** Attributes by qualified name as written, values decoded; namespace declarations excluded. */
  attrs: Map<string, string>;
  children: XNode[];
  /** Byte offsets: the whole element, and its content (between the start and end tags). */
  start: number;
  end: number;
  contentStart: number;
  contentEnd: number;
}

export type XNode = XElement | string;

export interface ParsedStartTag {
  qname: string;
  /** Attributes in order, values decoded, namespace declarations included. */
  attrs: Array<[string, string]>;
  /** Offset just past the tag's `>`. */
  end: number;
  selfClosing: boolean;
  error?: ProtocolError;
}

const LT = 0x3c;
const GT = 0x3e;
const SLASH = 0x2f;
const EQ = 0x3d;
const AMP = 0x26;

export function isSpace(b: number): boolean {
  return b === 0x20 || b === 0x09 || b === 0x0a || b === 0x0d;
}

/** Bytes that end a name: space, `/`, `>`, `=`, `<`, quotes. Everything else (including UTF-8) is a name byte. */
export function isNameByte(b: number): boolean {
  return !(isSpace(b) || b === SLASH || b === GT || b === EQ || b === LT || b === 0x22 || b === 0x27 || b === AMP || b < 0x20);
}

function isNameStart(b: number): boolean {
  return isNameByte(b) && b !== 0x2d && b !== 0x2e && !(b >= 0x30 && b <= 0x39) && b !== 0x21 && b !== 0x3f;
}

const NAMED_ENTITIES: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

function validCodePoint(cp: number): boolean {
  return cp === 0x9 || cp === 0xa || cp === 0xd || (cp >= 0x20 && cp <= 0xd7ff) || (cp >= 0xe000 && cp <= 0xfffd) || (cp >= 0x10000 && cp <= 0x10ffff);
}

/**
 * Decodes the predefined entities and character references (a reference to a character XML forbids is an error
 * too; literal forbidden characters are found in the bytes, see `forbiddenCharAt`). Anything else (`&name;` of a declared entity,
 * a bare `&`) is an error; the text keeps it literally, so nothing is ever expanded.
 */
export function decodeEntities(text: string, errors: ProtocolError[]): string {
  if (!text.includes('&')) return text;
  let out = '';
  let last = 0;
  for (let i = text.indexOf('&'); i >= 0; i = text.indexOf('&', last)) {
    out += text.slice(last, i);
    const semi = text.indexOf(';', i);
    const ref = semi > i && semi - i <= 12 ? text.slice(i + 1, semi) : undefined;
    let decoded: string | undefined;
    if (ref !== undefined) {
      const named = NAMED_ENTITIES[ref];
      if (named !== undefined && Object.hasOwn(NAMED_ENTITIES, ref)) decoded = named;
      else if (/^#[0-9]{1,7}$/.test(ref) || /^#x[0-9a-fA-F]{1,6}$/.test(ref)) {
        const cp = ref[1] === 'x' ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10);
        if (validCodePoint(cp)) decoded = String.fromCodePoint(cp);
      }
    }
    if (decoded === undefined) {
      errors.push({ code: 'undefined-entity', message: `entity or reference not allowed in XMPP: ${JSON.stringify(text.slice(i, Math.min(text.length, i + 16)))}` });
      out += '&';
      last = i + 1;
    } else {
      out += decoded;
      last = semi + 1;
    }
  }
  out += text.slice(last);
  return out;
}

/** Text for XML content or a quoted attribute value: escaped, and characters XML cannot carry removed. */
export function escapeXml(text: string): string {
  return text
    .replace(/[\0-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '')
    .replace(/[<>&'"]/g, (c) => (c === '<' ? '&lt;' : c === '>' ? '&gt;' : c === '&' ? '&amp;' : c === "'" ? '&apos;' : '&quot;'));
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Buffer's own UTF-8 slice decoder: what `toString('utf8', start, end)` calls, without its argument checks. */
type Utf8Slicing = Buffer & { utf8Slice?(start: number, end: number): string };

function decodeRange(bytes: Buffer, start: number, end: number): string {
  const fast = (bytes as Utf8Slicing).utf8Slice;
  return fast === undefined ? bytes.toString('utf8', start, end) : fast.call(bytes, start, end);
}

/**
 * Offset of the first character XML 1.0 forbids (a control other than tab, LF and CR, or U+FFFE/U+FFFF) in
 * valid UTF-8, or -1. Lone surrogates cannot occur: they are not valid UTF-8.
 */
export function forbiddenCharAt(bytes: Uint8Array): number {
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    if (b < 0x20 ? b !== 0x09 && b !== 0x0a && b !== 0x0d : b === 0xef && bytes[i + 1] === 0xbf && (bytes[i + 2] === 0xbe || bytes[i + 2] === 0xbf)) return i;
  }
  return -1;
}

/** Parses the start tag at `offset` (which holds `<`). Undefined when the tag is not complete in `bytes`. */
export function parseStartTag(input: Uint8Array, offset: number, errors: ProtocolError[]): ParsedStartTag | undefined {
  const bytes = asBuffer(input);
  let i = offset + 1;
  const n = bytes.length;
  if (i >= n || !isNameStart(bytes[i]!)) return undefined;
  const nameStart = i;
  while (i < n && isNameByte(bytes[i]!)) i++;
  const qname = decodeRange(bytes, nameStart, i);
  const attrs: Array<[string, string]> = [];
  for (;;) {
    const before = i;
    while (i < n && isSpace(bytes[i]!)) i++;
    if (i >= n) return undefined;
    const b = bytes[i]!;
    if (b === GT) return { qname, attrs, end: i + 1, selfClosing: false };
    if (b === SLASH) {
      if (bytes[i + 1] === GT) return { qname, attrs, end: i + 2, selfClosing: true };
      return undefined;
    }
    if (i === before || !isNameStart(b)) return undefined; // attributes need a space before them
    const attrStart = i;
    while (i < n && isNameByte(bytes[i]!)) i++;
    const name = decodeRange(bytes, attrStart, i);
    while (i < n && isSpace(bytes[i]!)) i++;
    if (bytes[i] !== EQ) return undefined;
    i++;
    while (i < n && isSpace(bytes[i]!)) i++;
    const quote = bytes[i];
    if (quote !== 0x22 && quote !== 0x27) return undefined;
    const close = bytes.indexOf(quote, i + 1);
    if (close < 0) return undefined;
    let lt = false;
    let amp = false;
    let space = false;
    for (let k = i + 1; k < close; k++) {
      const c = bytes[k]!;
      if (c === LT) lt = true;
      else if (c === AMP) amp = true;
      else if (c === 0x09 || c === 0x0a || c === 0x0d) space = true;
    }
    let value = decodeRange(bytes, i + 1, close);
    if (lt) errors.push({ code: 'not-well-formed', message: `"<" in the value of attribute ${name}` });
    // Attribute value normalisation (XML 1.0 3.3.3): literal whitespace characters become spaces.
    if (space) value = value.replace(/[\t\n\r]/g, ' ');
    if (amp) value = decodeEntities(value, errors);
    if (attrs.some(([n]) => n === name)) errors.push({ code: 'not-well-formed', message: `attribute ${name} appears twice` });
    attrs.push([name, value]);
    i = close + 1;
  }
}

/** The scope inside an element that declares `attrs`, or `scope` itself when it declares nothing. */
export function scopeFor(scope: NsScope, attrs: ReadonlyArray<[string, string]>): NsScope {
  let next: Map<string, string> | undefined;
  for (const [name, value] of attrs) {
    if (name === 'xmlns') (next ??= new Map(scope)).set('', value);
    else if (name.startsWith('xmlns:')) (next ??= new Map(scope)).set(name.slice(6), value);
  }
  return next ?? scope;
}

export function splitQname(qname: string): [prefix: string, local: string] {
  const colon = qname.indexOf(':');
  return colon < 0 ? ['', qname] : [qname.slice(0, colon), qname.slice(colon + 1)];
}

export interface ParseResult {
  root?: XElement;
  /** The first problem found (the stanza is forwarded regardless). */
  error?: ProtocolError;
}

/** Deepest element nesting accepted inside one stanza. */
export const MAX_DEPTH = 256;

/**
 * Parses one complete element (a stanza) from `bytes`. Well-formedness problems give no tree; restricted-XML
 * problems (comments, processing instructions, undeclared prefixes, bad entities) give the tree and an error.
 */
export function parseElement(input: Uint8Array, scope: NsScope): ParseResult {
  if (!isUtf8(input)) return { error: { code: 'invalid-utf8', message: 'stanza is not valid UTF-8' } };
  const bytes = asBuffer(input);
  const errors: ProtocolError[] = [];
  if (forbiddenCharAt(bytes) >= 0) errors.push({ code: 'invalid-xml-char', message: 'a character XML forbids (a control character, U+FFFE or U+FFFF)' });
  const fail = (message: string): ParseResult => ({ error: { code: 'not-well-formed', message } });
  const stack: Array<{ el: XElement; scope: NsScope }> = [];
  let root: XElement | undefined;
  let i = 0;
  const n = bytes.length;
  while (i < n) {
    const lt = bytes.indexOf(LT, i);
    const textEnd = lt < 0 ? n : lt;
    if (textEnd > i) {
      const top = stack.at(-1);
      if (top) {
        const text = decodeEntities(decodeRange(bytes, i, textEnd), errors);
        top.el.children.push(text);
      } else if (!isBlank(bytes, i, textEnd)) {
        return fail('text outside the stanza element');
      }
    }
    if (lt < 0) break;
    i = lt;
    const next = bytes[i + 1];
    if (next === SLASH) {
      const close = bytes.indexOf(GT, i);
      if (close < 0) return fail('unterminated end tag');
      const qname = decodeRange(bytes, i + 2, close).trimEnd();
      const top = stack.pop();
      if (!top || top.el.qname !== qname) return fail(`end tag </${qname}> does not match ${top ? `<${top.el.qname}>` : 'any open element'}`);
      top.el.contentEnd = i;
      top.el.end = close + 1;
      i = close + 1;
      if (stack.length === 0) {
        if (!isBlank(bytes, i, n)) return fail('bytes after the stanza element');
        break;
      }
      continue;
    }
    if (next === 0x21) {
      // <!-- -->, <![CDATA[ ]]>, <!DOCTYPE: only CDATA is allowed in XMPP.
      if (startsWith(bytes, i, '<![CDATA[')) {
        const close = indexOfSeq(bytes, ']]>', i + 9);
        if (close < 0) return fail('unterminated CDATA section');
        const top = stack.at(-1);
        if (!top) return fail('CDATA outside the stanza element');
        top.el.children.push(decodeRange(bytes, i + 9, close));
        i = close + 3;
        continue;
      }
      if (startsWith(bytes, i, '<!--')) {
        const close = indexOfSeq(bytes, '-->', i + 4);
        if (close < 0) return fail('unterminated comment');
        errors.push({ code: 'restricted-xml', message: 'XML comment (XMPP forbids comments)' });
        i = close + 3;
        continue;
      }
      return fail('DTD or markup declaration inside a stanza (XMPP forbids them)');
    }
    if (next === 0x3f) {
      const close = indexOfSeq(bytes, '?>', i + 2);
      if (close < 0) return fail('unterminated processing instruction');
      errors.push({ code: 'restricted-xml', message: 'processing instruction inside a stanza (XMPP forbids them)' });
      i = close + 2;
      continue;
    }
    if (root && stack.length === 0) return fail('a second element after the stanza');
    const tag = parseStartTag(bytes, i, errors);
    if (!tag) return fail('malformed start tag');
    if (stack.length >= MAX_DEPTH) return { error: { code: 'too-deep', message: `elements nested deeper than ${MAX_DEPTH}` } };
    const parentScope = stack.at(-1)?.scope ?? scope;
    const elScope = scopeFor(parentScope, tag.attrs);
    const [prefix, local] = splitQname(tag.qname);
    let ns = elScope.get(prefix);
    if (ns === undefined) {
      errors.push({ code: 'unbound-prefix', message: `namespace prefix "${prefix}" is not declared` });
      ns = '';
    }
    const attrs = new Map<string, string>();
    for (const [name, value] of tag.attrs) {
      if (name === 'xmlns' || name.startsWith('xmlns:')) continue;
      const [attrPrefix] = splitQname(name);
      if (attrPrefix !== '' && elScope.get(attrPrefix) === undefined) {
        errors.push({ code: 'unbound-prefix', message: `namespace prefix "${attrPrefix}" is not declared` });
      }
      attrs.set(name, value);
    }
    const el: XElement = { qname: tag.qname, local, ns, attrs, children: [], start: i, end: tag.end, contentStart: tag.end, contentEnd: tag.end };
    const parent = stack.at(-1);
    if (parent) parent.el.children.push(el);
    else root = el;
    i = tag.end;
    if (!tag.selfClosing) stack.push({ el, scope: elScope });
    else if (stack.length === 0) {
      if (!isBlank(bytes, i, n)) return fail('bytes after the stanza element');
      break;
    }
  }
  if (!root) return fail('no element');
  if (stack.length > 0) return fail(`<${stack.at(-1)!.el.qname}> is not closed`);
  return errors.length > 0 ? { root, error: errors[0]! } : { root };
}

function isBlank(bytes: Uint8Array, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if (!isSpace(bytes[i]!)) return false;
  return true;
}

function startsWith(bytes: Uint8Array, offset: number, ascii: string): boolean {
  if (offset + ascii.length > bytes.length) return false;
  for (let k = 0; k < ascii.length; k++) if (bytes[offset + k] !== ascii.charCodeAt(k)) return false;
  return true;
}

function indexOfSeq(bytes: Uint8Array, ascii: string, from: number): number {
  const first = ascii.charCodeAt(0);
  for (let i = bytes.indexOf(first, from); i >= 0; i = bytes.indexOf(first, i + 1)) {
    if (startsWith(bytes, i, ascii)) return i;
  }
  return -1;
}

/** Child elements of `el` named `local` in namespace `ns` (any namespace when `ns` is undefined). */
export function children(el: XElement, local: string, ns?: string): XElement[] {
  const out: XElement[] = [];
  for (const child of el.children) {
    if (typeof child !== 'string' && child.local === local && (ns === undefined || child.ns === ns)) out.push(child);
  }
  return out;
}

export function child(el: XElement, local: string, ns?: string): XElement | undefined {
  for (const c of el.children) {
    if (typeof c !== 'string' && c.local === local && (ns === undefined || c.ns === ns)) return c;
  }
  return undefined;
}

/** First child element in namespace `ns`, whatever its name. */
export function childInNs(el: XElement, ns: string): XElement | undefined {
  for (const c of el.children) if (typeof c !== 'string' && c.ns === ns) return c;
  return undefined;
}

/** The text directly inside `el` (not in its child elements). */
export function textOf(el: XElement): string {
  let out = '';
  for (const c of el.children) if (typeof c === 'string') out += c;
  return out;
}
