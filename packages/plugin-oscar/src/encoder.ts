/**
 * Bytes imspect writes: a FLAP with one range replaced (its length fixed), a message rewritten with new text,
 * and ICBMs made up for the local client (a notice as if from the other party, a rendezvous cancel) or for
 * the server (a cancel of a blocked incoming offer).
 */
import { Channel, encodeFlap, FLAP_HEADER_BYTES } from './flap.js';
import type { Channel1Message } from './icbm.js';
import { encodeSnac, Family } from './snac.js';
import { Charset, encodeText, escapeHtml } from './text.js';
import { concat, tlv, u16 } from './tlv.js';
import { encodeUtf8 } from '@imspect/sdk';

const MAX_PAYLOAD = 0xffff;

/**
 * The FLAP with bytes [start, end) replaced, its length field fixed. Undefined when the result would not fit
 * a FLAP (the caller then leaves the frame alone).
 */
export function spliceFlap(raw: Uint8Array, start: number, end: number, replacement: Uint8Array): Uint8Array | undefined {
  const payload = raw.length - FLAP_HEADER_BYTES - (end - start) + replacement.length;
  if (payload > MAX_PAYLOAD) return undefined;
  const out = concat([raw.subarray(0, start), replacement, raw.subarray(end)]);
  out[4] = payload >> 8;
  out[5] = payload & 0xff;
  return out;
}

/** Text fragment (id 1, version 1): charset, subset 0, the text, cut at a character boundary to fit `budget`. */
function textFragment(text: string, budget: number): Uint8Array {
  const room = Math.max(0, budget - 8);
  let encoded = encodeText(text);
  if (encoded.bytes.length > room) {
    const unit = encoded.charset === Charset.UCS2BE ? 2 : 1;
    let n = Math.floor(room / unit);
    const last = text.charCodeAt(n - 1);
    if (n > 0 && last >= 0xd800 && last <= 0xdbff) n--; // never half a surrogate pair
    encoded = encodeText(text.slice(0, n));
  }
  return concat([Uint8Array.of(0x01, 0x01), u16(4 + encoded.bytes.length), u16(encoded.charset), u16(0), encoded.bytes]);
}

/**
 * A channel-1 message with new text: the message TLV rebuilt with its non-text fragments (capabilities) and
 * one text fragment; HTML when the original was, so the client renders it the same way.
 */
export function rewriteChannel1(raw: Uint8Array, message: Channel1Message, text: string, html: boolean): Uint8Array {
  const others = concat(message.others);
  const fixed = raw.length - FLAP_HEADER_BYTES - (message.tlv.valueEnd - message.tlv.start) + 4 + others.length;
  const body = html ? `<HTML><BODY>${escapeHtml(text)}</BODY></HTML>` : text;
  const fragment = textFragment(body, MAX_PAYLOAD - fixed);
  const replaced = spliceFlap(raw, message.tlv.start, message.tlv.valueEnd, tlv(0x0002, concat([others, fragment])));
  return replaced ?? raw;
}

/** A channel-4 (ICQ) message with new text: the little-endian block rebuilt, NUL-terminated. */
export function rewriteChannel4(raw: Uint8Array, tlvStart: number, valueStart: number, valueEnd: number, text: string): Uint8Array {
  const head = raw.subarray(valueStart, valueStart + 6);
  const room = MAX_PAYLOAD - (raw.length - FLAP_HEADER_BYTES - (valueEnd - tlvStart)) - 4 - 8 - 1;
  let body = encodeUtf8(text);
  if (body.length > room) body = body.subarray(0, Math.max(0, room));
  const length = body.length + 1;
  const value = concat([head, Uint8Array.of(length & 0xff, length >> 8), body, Uint8Array.of(0)]);
  return spliceFlap(raw, tlvStart, valueEnd, tlv(0x0005, value)) ?? raw;
}

export interface InjectContext {
  /** Sequence number for the FLAP (the one after the last the receiving side saw). */
  sequence: number;
  /** Message cookie (8 bytes). */
  cookie: Uint8Array;
}

function nameBytes(name: string): Uint8Array {
  const bytes = encodeUtf8(name);
  return bytes.subarray(0, Math.min(bytes.length, 255));
}

/** The user-info block of an incoming ICBM: warning level 0 and no TLVs. */
function senderBlock(cookie: Uint8Array, channel: number, from: string): Uint8Array {
  const name = nameBytes(from);
  return concat([cookie, u16(channel), Uint8Array.of(name.length), name, u16(0), u16(0)]);
}

/** An instant message from `from` to the local client (4/0x07, channel 1), as the server delivers one. */
export function buildIncomingMessage(ctx: InjectContext, from: string, text: string, html: boolean): Uint8Array {
  const head = senderBlock(ctx.cookie, 1, from);
  const features = Uint8Array.of(0x05, 0x01, 0x00, 0x01, 0x01);
  const body = html ? `<HTML><BODY>${escapeHtml(text)}</BODY></HTML>` : text;
  const fragment = textFragment(body, 60_000);
  const data = concat([head, tlv(0x0002, concat([features, fragment]))]);
  return encodeFlap(Channel.SNAC, ctx.sequence, encodeSnac(Family.ICBM, 0x0007, 0, 0, data));
}

/** A rendezvous cancel (channel 2, type 1) of the proposal `cookie`/`capability`, to the local client from `from`. */
export function buildIncomingCancel(ctx: InjectContext, from: string, capability: Uint8Array): Uint8Array {
  const rendezvous = concat([u16(1), ctx.cookie, capability, tlv(0x000b, u16(1))]);
  const data = concat([senderBlock(ctx.cookie, 2, from), tlv(0x0005, rendezvous)]);
  return encodeFlap(Channel.SNAC, ctx.sequence, encodeSnac(Family.ICBM, 0x0007, 0, 0, data));
}

/** A rendezvous cancel from the local client to `to` (4/0x06, channel 2, type 1): refuses an incoming offer. */
export function buildOutgoingCancel(ctx: InjectContext, to: string, capability: Uint8Array): Uint8Array {
  const name = nameBytes(to);
  const rendezvous = concat([u16(1), ctx.cookie, capability, tlv(0x000b, u16(1))]);
  const data = concat([ctx.cookie, u16(2), Uint8Array.of(name.length), name, tlv(0x0005, rendezvous)]);
  return encodeFlap(Channel.SNAC, ctx.sequence, encodeSnac(Family.ICBM, 0x0006, 0, 0, data));
}
