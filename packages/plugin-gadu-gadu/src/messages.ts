/**
 * Message packets, decoded with the byte ranges a rewrite needs:
 * - before 8.0: GG_SEND_MSG (recipient, seq, class, CP1250 text, NUL, attributes) and GG_RECV_MSG (sender, seq,
 *   time, class, text, NUL, attributes);
 * - 8.0: GG_SEND_MSG80 (recipient, seq, class, plain offset, attribute offset, then UTF-8 HTML, NUL, CP1250 plain
 *   text, NUL, attributes) and GG_RECV_MSG80 / GG_RECV_OWN_MSG (sender, seq, time, class, the two offsets, HTML
 *   ...); the offsets count from the start of the body;
 * - 11.0: protocol buffers (GG_SEND_MSG110, GG_RECV_MSG110, GG_RECV_OWN_MSG110 and the GG_CHAT_ variants):
 *   field 1 peer uin, 2 class/flags, 3 seq, 4 time, 5 UTF-8 plain text, 6 XHTML, 7 attributes, 10 chat id.
 */
import { utf8 } from '@imspect/sdk';
import { decodeAttributes, type Attributes, type Range } from './attributes.js';
import { decodeCp1250 } from './cp1250.js';
import { htmlToText } from './html.js';
import type { GgPacket } from './packet.js';
import { decodeProtobuf, pbNumber, readPbUin, WireType, type PbField } from './protobuf.js';

export type MessageFormat = 'old' | 'msg80' | 'msg110';

export interface GgMessage {
  format: MessageFormat;
  /** The recipient of a sent message, the sender of a received one (uin), when the packet names one. */
  peer: string | undefined;
  seq: number;
  msgClass: number;
  /** Plain text bytes (CP1250 before 11.0, UTF-8 in 11.0), without the terminating NUL. */
  plain: Range;
  /** HTML bytes (UTF-8), 8.0 and 11.0. */
  html?: Range;
  attributes: Attributes;
  /** Where the attributes start (8.0: the attribute offset; old: after the text's NUL). */
  attrStart: number;
  /** The text a reader sees: the HTML reduced to text when there is HTML, else the plain text. */
  text: string;
  /** The HTML as sent. */
  htmlSource?: string;
  /** Group chat id (11.0 chats). */
  chatId?: string;
  /** Protocol-buffer fields, for rewriting 11.0 messages. */
  fields?: PbField[];
  /** What was wrong, if anything. */
  error?: string;
}

function textOf(plain: string, html: string | undefined): string {
  if (html !== undefined && html.trim() !== '') return htmlToText(html);
  return plain;
}

/** GG_SEND_MSG (outgoing) / GG_RECV_MSG (incoming). */
export function decodeOldMessage(packet: GgPacket, received: boolean): GgMessage | undefined {
  const textStart = received ? 16 : 12;
  const peer = packet.uin(0);
  const seq = packet.u32(4);
  const msgClass = packet.u32(received ? 12 : 8);
  if (peer === undefined || seq === undefined || msgClass === undefined) return undefined;
  const body = packet.body;
  const nul = packet.nul(textStart);
  const plain = { start: Math.min(textStart, body.length), end: nul };
  const attrStart = Math.min(nul + 1, body.length);
  const attributes = decodeAttributes(body, attrStart);
  const text = decodeCp1250(packet.bytes(plain.start, plain.end));
  const message: GgMessage = { format: 'old', peer, seq, msgClass, plain, attributes, attrStart, text };
  if (nul === body.length) message.error = 'message text without its terminating NUL';
  else if (attributes.error !== undefined) message.error = attributes.error;
  return message;
}

/** GG_SEND_MSG80 (outgoing) / GG_RECV_MSG80, GG_RECV_OWN_MSG (incoming). */
export function decodeMessage80(packet: GgPacket, received: boolean): GgMessage | undefined {
  const fixed = received ? 24 : 20;
  const peer = packet.uin(0);
  const seq = packet.u32(4);
  const msgClass = packet.u32(received ? 12 : 8);
  const offsetPlain = packet.u32(received ? 16 : 12);
  const offsetAttr = packet.u32(received ? 20 : 16);
  if (peer === undefined || seq === undefined || msgClass === undefined || offsetPlain === undefined || offsetAttr === undefined) return undefined;
  const body = packet.body;
  let error: string | undefined;
  let plainStart = offsetPlain;
  if (plainStart < fixed || plainStart > body.length) {
    error = `plain text offset ${offsetPlain} outside the body`;
    plainStart = Math.min(Math.max(fixed, packet.nul(fixed) + 1), body.length);
  }
  const htmlEnd = Math.min(packet.nul(fixed), plainStart);
  const html = { start: Math.min(fixed, htmlEnd), end: htmlEnd };
  const plainEnd = packet.nul(plainStart);
  const plain = { start: plainStart, end: plainEnd };
  let attrStart = offsetAttr;
  if (attrStart < plainStart || attrStart > body.length) {
    error ??= `attribute offset ${offsetAttr} outside the body`;
    attrStart = Math.min(plainEnd + 1, body.length);
  }
  const attributes = decodeAttributes(body, attrStart);
  error ??= attributes.error;
  const htmlSource = utf8(packet.bytes(html.start, html.end));
  const plainText = decodeCp1250(packet.bytes(plain.start, plain.end));
  const message: GgMessage = { format: 'msg80', peer, seq, msgClass, plain, html, attributes, attrStart, text: textOf(plainText, htmlSource) };
  if (htmlSource !== '') message.htmlSource = htmlSource;
  if (error !== undefined) message.error = error;
  return message;
}

/** The protocol-buffer message packets of 11.0. */
export function decodeMessage110(packet: GgPacket): GgMessage | undefined {
  const body = packet.body;
  const pb = decodeProtobuf(body);
  const find = (n: number, wire: number) => pb.fields.find((f) => f.number === n && f.wire === wire);
  const peerField = find(1, WireType.BYTES);
  const plainField = find(5, WireType.BYTES);
  const htmlField = find(6, WireType.BYTES);
  const attrField = find(7, WireType.BYTES);
  const chatField = find(10, WireType.FIXED64);
  if (plainField === undefined && htmlField === undefined) return undefined;
  const plain = plainField === undefined ? { start: body.length, end: body.length } : { start: plainField.valueStart, end: plainField.end };
  const htmlSource = htmlField === undefined ? undefined : utf8(body.subarray(htmlField.valueStart, htmlField.end));
  const attrBytes = attrField === undefined ? new Uint8Array(0) : body.subarray(attrField.valueStart, attrField.end);
  const attributes = decodeAttributes(attrBytes, 0);
  const message: GgMessage = {
    format: 'msg110',
    peer: peerField === undefined ? undefined : readPbUin(body.subarray(peerField.valueStart, peerField.end)),
    seq: pbNumber(pb, 3) ?? 0,
    msgClass: pbNumber(pb, 2) ?? 0,
    plain,
    attributes,
    attrStart: 0,
    text: textOf(utf8(body.subarray(plain.start, plain.end)), htmlSource),
    fields: pb.fields,
  };
  if (htmlField !== undefined) message.html = { start: htmlField.valueStart, end: htmlField.end };
  if (htmlSource !== undefined && htmlSource !== '') message.htmlSource = htmlSource;
  if (chatField !== undefined) message.chatId = fixed64(body, chatField.valueStart);
  const error = pb.error ?? attributes.error;
  if (error !== undefined) message.error = error;
  return message;
}

/** A fixed64 as an exact decimal string. */
export function fixed64(bytes: Uint8Array, at: number): string {
  let n = 0n;
  for (let i = 7; i >= 0; i--) n = (n << 8n) | BigInt(bytes[at + i] ?? 0);
  return n.toString();
}
