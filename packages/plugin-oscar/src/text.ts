/**
 * Message text: the charsets of an ICBM text fragment (0x0000 ASCII, 0x0002 UCS-2BE, 0x0003 Latin-1), the
 * reduction of AIM's HTML to plain text, and the encoding of replacement text.
 */
import { latin1 } from '@imspect/sdk';
import { utf8OrLatin1 } from './screen-name.js';

export const Charset = {
  ASCII: 0x0000,
  UCS2BE: 0x0002,
  LATIN1: 0x0003,
} as const;

const ucs2 = new TextDecoder('utf-16be');

/**
 * Text in a fragment's charset. "ASCII" is what clients write for whatever 8-bit text they send: UTF-8 when it
 * is valid UTF-8, else one byte per character. Trailing NULs (some clients terminate the text) are dropped.
 */
export function decodeText(bytes: Uint8Array, charset: number): string {
  if (charset === Charset.UCS2BE) {
    const even = bytes.subarray(0, bytes.length & ~1);
    return ucs2.decode(even).replace(/\0+$/, '');
  }
  let end = bytes.length;
  while (end > 0 && bytes[end - 1] === 0) end--;
  const view = bytes.subarray(0, end);
  if (charset === Charset.LATIN1) return latin1(view);
  return utf8OrLatin1(view);
}

/** Replacement text: ASCII when it is, else UCS-2BE (what every OSCAR client reads). */
export function encodeText(text: string): { charset: number; bytes: Uint8Array } {
  if (/^[\x00-\x7f]*$/.test(text)) return { charset: Charset.ASCII, bytes: Uint8Array.from(text, (c) => c.charCodeAt(0)) };
  const out = new Uint8Array(text.length * 2);
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    out[2 * i] = code >> 8;
    out[2 * i + 1] = code & 0xff;
  }
  return { charset: Charset.UCS2BE, bytes: out };
}

/** True when the text is marked up (a tag or an entity): AIM clients send HTML. */
export function looksLikeHtml(text: string): boolean {
  return /<\/?[a-zA-Z][^>]*>|&(?:[a-zA-Z]+|#\d+|#x[0-9a-fA-F]+);/.test(text);
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ' };

/** HTML reduced to the text a user reads: tags dropped, line breaks kept, entities decoded. */
export function htmlToText(html: string): string {
  return html
    .replace(/<br\s*\/?>/gi, '\n')
    .replace(/<\/?p\b[^>]*>/gi, '\n')
    .replace(/<[^>]*>/g, '')
    .replace(/&(#x[0-9a-fA-F]+|#\d+|[a-zA-Z]+);/g, (whole, name: string) => {
      if (name.startsWith('#x') || name.startsWith('#X')) return codePoint(Number.parseInt(name.slice(2), 16)) ?? whole;
      if (name.startsWith('#')) return codePoint(Number.parseInt(name.slice(1), 10)) ?? whole;
      return ENTITIES[name.toLowerCase()] ?? whole;
    })
    .replace(/^\n+|\n+$/g, '');
}

function codePoint(n: number): string | undefined {
  return Number.isInteger(n) && n > 0 && n <= 0x10ffff ? String.fromCodePoint(n) : undefined;
}

/** Plain text for the user, HTML escaped: what a rewritten or injected AIM message carries. */
export function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/\n/g, '<br>');
}
