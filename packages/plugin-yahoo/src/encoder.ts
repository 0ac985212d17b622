/**
 * Bytes imspect sends: a packet with its message text replaced (body length fixed up, key 97 added when the new
 * text needs UTF-8), and messages injected towards the local client.
 */
import { encodePacket, HEADER_BYTES, MAX_BODY_BYTES, Service, type PairBytes, type YmsgPair } from './packet.js';
import { encodeUtf8 } from '@imspect/sdk';
import { fitUtf8 } from './text.js';
import type { YmsgPacket } from './ymsg-packet.js';

const UTF8_FLAG_PAIR = Uint8Array.of(0x39, 0x37, 0xc0, 0x80, 0x31, 0xc0, 0x80); // "97" C0 80 "1" C0 80

/**
 * The packet with the value of `textPair` replaced by `text`. Everything else is kept byte for byte. Text that is
 * not plain ASCII is sent as UTF-8, with `97=1` added after the text when the packet did not say UTF-8 already.
 * Text that would overflow the u16 body length is cut at a character boundary.
 */
export function rewriteText(packet: YmsgPacket, textPair: YmsgPair, utf8Flag: boolean, text: string): Uint8Array {
  const { body } = packet;
  const others = body.length - (textPair.end - textPair.start);
  let clean = text;
  let addFlag = !utf8Flag && !/^[\x00-\x7f]*$/.test(clean);
  if (addFlag && others + UTF8_FLAG_PAIR.length > MAX_BODY_BYTES) {
    // No room for the flag in a full packet: send the text as ASCII.
    clean = clean.replace(/[^\x00-\x7f]/gu, '?');
    addFlag = false;
  }
  // Value, then its closing separator: the flag goes after that.
  const closing = Math.min(textPair.end + 2, body.length);
  const fixed = others + (addFlag ? UTF8_FLAG_PAIR.length : 0);
  const encoded = fitUtf8(clean, MAX_BODY_BYTES - fixed);
  const parts = [body.subarray(0, textPair.start), encoded, body.subarray(textPair.end, closing), addFlag ? UTF8_FLAG_PAIR : new Uint8Array(0), body.subarray(closing)];
  const bodyLength = parts.reduce((n, p) => n + p.length, 0);
  const out = new Uint8Array(HEADER_BYTES + bodyLength);
  out.set(packet.raw.subarray(0, HEADER_BYTES), 0);
  new DataView(out.buffer).setUint16(8, bodyLength);
  let at = HEADER_BYTES;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** UTF-8 never contains C0 80; ids and text from elsewhere are cleaned anyway so no value can end early. */
function stripSeparators(bytes: Uint8Array): Uint8Array {
  let found = false;
  for (let i = 0; i + 1 < bytes.length; i++) if (bytes[i] === 0xc0 && bytes[i + 1] === 0x80) found = true;
  if (!found) return bytes;
  const out: number[] = [];
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] === 0xc0 && bytes[i + 1] === 0x80) continue;
    out.push(bytes[i]!);
  }
  return Uint8Array.from(out);
}

export interface InjectContext {
  /** Version and vendor bytes (header bytes 4..7) the server uses, so the client reads ours the same way. */
  versionBytes: Uint8Array;
  sessionId: number;
}

/** A text budget that leaves room for ids in a packet. */
const MAX_INJECTED_TEXT = 60_000;

/** A private message from `from` to `to`, as the server delivers it (service MESSAGE, status 1). */
export function buildMessage(ctx: InjectContext, to: string, from: string, text: string): Uint8Array {
  return encodePacket({ ...ctx, service: Service.MESSAGE, status: 1 }, [
    [5, idBytes(to)],
    [4, idBytes(from)],
    [14, textBytes(text)],
    [97, encodeUtf8('1')],
  ]);
}

/** A conference message in `room` from `from`, addressed to the local user `to`. */
export function buildConferenceMessage(ctx: InjectContext, to: string, room: string, from: string, text: string): Uint8Array {
  const pairs: PairBytes[] = [
    [1, idBytes(to)],
    [57, idBytes(room)],
    [3, idBytes(from)],
    [14, textBytes(text)],
    [97, encodeUtf8('1')],
  ];
  return encodePacket({ ...ctx, service: Service.CONF_MSG, status: 1 }, pairs);
}

function idBytes(id: string): Uint8Array {
  return stripSeparators(fitUtf8(id, 1024));
}

function textBytes(text: string): Uint8Array {
  return stripSeparators(fitUtf8(text, MAX_INJECTED_TEXT));
}
