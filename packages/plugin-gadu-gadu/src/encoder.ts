/**
 * Bytes imspect writes: messages with their text replaced (plain part, HTML part, offsets and lengths kept
 * consistent), messages injected towards the local client, and the protocol's refusals (a DCC7 reject, a
 * "blocked" send acknowledgement, a receive acknowledgement).
 */
import { encodeUtf8 } from '@imspect/sdk';
import { AttributeFlag, type Attributes } from './attributes.js';
import { encodeCp1250 } from './cp1250.js';
import { replaceHtmlText, textToHtml } from './html.js';
import type { GgMessage } from './messages.js';
import type { GgPacket } from './packet.js';
import { In, Out } from './packet-types.js';
import { pbField, WireType } from './protobuf.js';

/** Longest text imspect writes into a message (the official clients stop near 2,000 characters). */
export const MAX_WRITTEN_TEXT = 16_000;

/** The message class of a chat message (shown in the conversation window). */
export const CLASS_CHAT = 0x08;
/** GG_SEND_MSG_ACK status: the recipient (here: policy) blocked the message. */
export const ACK_BLOCKED = 0x01;
/** GG_DCC7_REJECT reason: the user refused. */
export const DCC7_REJECT_USER = 0x02;

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

function u32le(value: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, value >>> 0, true);
  return out;
}

/** A packet: header (type, length) and body. */
export function encodePacket(type: number, body: Uint8Array): Uint8Array {
  return concat([u32le(type), u32le(body.length), body]);
}

function clip(text: string): string {
  const chars = [...text];
  return chars.length > MAX_WRITTEN_TEXT ? chars.slice(0, MAX_WRITTEN_TEXT).join('') : text;
}

/**
 * The attribute blocks kept after a rewrite: conference recipients and images as they were; rich-text formats
 * only where they start inside the new text (their positions count characters of the text).
 */
function keptAttributes(body: Uint8Array, start: number, attributes: Attributes, newLength: number): Uint8Array {
  const rich = attributes.richtext;
  if (rich === undefined) return body.subarray(start);
  const formats = body.subarray(rich.start + 3, rich.end);
  const kept: number[] = [];
  let at = 0;
  while (at + 3 <= formats.length) {
    const position = formats[at]! | (formats[at + 1]! << 8);
    const font = formats[at + 2]!;
    const size = 3 + (font & 0x08 ? 3 : 0) + (font & 0x80 ? 10 : 0);
    if (at + size > formats.length) break;
    if (position < newLength) kept.push(...formats.subarray(at, at + size));
    at += size;
  }
  const block = kept.length === 0 ? new Uint8Array(0) : Uint8Array.from([AttributeFlag.RICHTEXT, kept.length & 0xff, kept.length >> 8, ...kept]);
  return concat([body.subarray(start, rich.start), block, body.subarray(rich.end)]);
}

/** The message packet with `text` in place of its text, everything else kept. */
export function rewriteMessage(packet: GgPacket, message: GgMessage, text: string): Uint8Array {
  const clean = clip(text);
  const length = [...clean].length;
  const body = packet.body;
  if (message.format === 'old') {
    const attributes = keptAttributes(body, message.attrStart, message.attributes, length);
    return encodePacket(packet.type, concat([body.subarray(0, message.plain.start), encodeCp1250(clean), Uint8Array.of(0), attributes]));
  }
  if (message.format === 'msg80') {
    const fixed = body.subarray(0, message.html!.start);
    const html = encodeUtf8(replaceHtmlText(message.htmlSource ?? '', clean).replace(/\0/g, ' '));
    const plain = encodeCp1250(clean);
    const attributes = keptAttributes(body, message.attrStart, message.attributes, length);
    const out = concat([fixed, html, Uint8Array.of(0), plain, Uint8Array.of(0), attributes]);
    const received = packet.type !== Out.SEND_MSG80;
    const view = new DataView(out.buffer);
    const offsetPlain = fixed.length + html.length + 1;
    view.setUint32(received ? 16 : 12, offsetPlain, true);
    view.setUint32(received ? 20 : 16, offsetPlain + plain.length + 1, true);
    return encodePacket(packet.type, out);
  }
  // 11.0: the plain (5) and XHTML (6) fields replaced where they were, every other field kept as sent.
  const parts: Uint8Array[] = [];
  let wroteHtml = false;
  for (const field of message.fields ?? []) {
    if (field.number === 5 && field.wire === WireType.BYTES) parts.push(pbField(5, encodeUtf8(clean)));
    else if (field.number === 6 && field.wire === WireType.BYTES) {
      parts.push(pbField(6, encodeUtf8(replaceHtmlText(message.htmlSource ?? '', clean))));
      wroteHtml = true;
    } else parts.push(body.subarray(field.start, field.end));
  }
  if (!wroteHtml && message.html !== undefined) parts.push(pbField(6, encodeUtf8(textToHtml(clean))));
  return encodePacket(packet.type, concat(parts));
}

export interface InjectedMessage {
  /** Sender uin (0: the server, shown as a system message). */
  from: number;
  seq: number;
  /** Unix time, seconds. */
  time: number;
  text: string;
}

/** GG_RECV_MSG80: the HTML part (the text escaped in a span) and the CP1250 plain part. */
export function buildRecvMsg80(message: InjectedMessage): Uint8Array {
  const clean = clip(message.text);
  const html = encodeUtf8(`<span>${textToHtml(clean)}</span>`);
  const plain = encodeCp1250(clean);
  const fixed = new Uint8Array(24);
  const view = new DataView(fixed.buffer);
  view.setUint32(0, message.from >>> 0, true);
  view.setUint32(4, message.seq >>> 0, true);
  view.setUint32(8, message.time >>> 0, true);
  view.setUint32(12, CLASS_CHAT, true);
  view.setUint32(16, 24 + html.length + 1, true);
  view.setUint32(20, 24 + html.length + 1 + plain.length + 1, true);
  return encodePacket(In.RECV_MSG80, concat([fixed, html, Uint8Array.of(0), plain, Uint8Array.of(0)]));
}

/** GG_RECV_MSG, for clients that did not ask for 8.0 messages: CP1250 text. */
export function buildRecvMsg(message: InjectedMessage): Uint8Array {
  const fixed = new Uint8Array(16);
  const view = new DataView(fixed.buffer);
  view.setUint32(0, message.from >>> 0, true);
  view.setUint32(4, message.seq >>> 0, true);
  view.setUint32(8, message.time >>> 0, true);
  view.setUint32(12, CLASS_CHAT, true);
  return encodePacket(In.RECV_MSG, concat([fixed, encodeCp1250(clip(message.text)), Uint8Array.of(0)]));
}

/** GG_SEND_MSG_ACK saying the message to `recipient` with `seq` was blocked. */
export function buildSendAckBlocked(recipient: number, seq: number): Uint8Array {
  return encodePacket(In.SEND_MSG_ACK, concat([u32le(ACK_BLOCKED), u32le(recipient), u32le(seq)]));
}

/** GG_RECV_MSG_ACK for `seq`, as the client would have sent it. */
export function buildRecvAck(seq: number): Uint8Array {
  return encodePacket(Out.RECV_MSG_ACK, u32le(seq));
}

/** GG_ACK110 for a received 11.0 message: 1 type (1: message), 2 seq, 3 = 1, as the client sends it. */
export function buildAck110(seq: number): Uint8Array {
  return encodePacket(Out.ACK110, concat([pbField(1, 1), pbField(2, seq), pbField(3, 1)]));
}

/** GG_DCC7_REJECT of the transfer `id` (8 bytes), naming `uin` (the other party of the frame's sender). */
export function buildDcc7Reject(uin: number, id: Uint8Array): Uint8Array {
  return encodePacket(Out.DCC7_REJECT, concat([u32le(uin), id, u32le(DCC7_REJECT_USER)]));
}
