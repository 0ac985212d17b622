/**
 * AIM chat rooms (family 0x0E), on their own connection reached by a service cookie. The server names the room
 * when the client joins (0x0E/0x02 room info: exchange, cookie, instance, detail level, TLVs with the name 0xD3);
 * messages go to the room (0x0E/0x05) and come from it (0x0E/0x06, with the sender's user info in TLV 3) on
 * channel 3, the text in the message-information TLV 5 (TLV 1 text, TLV 2 encoding name, TLV 3 language).
 */
import { latin1 } from '@imspect/sdk';
import { Cursor } from './cursor.js';
import { decodeName } from './screen-name.js';
import type { Snac } from './snac.js';
import { Charset, decodeText } from './text.js';
import { findTlv, readTlvs, tlvValue } from './tlv.js';

export interface RoomInfo {
  /** The room's name (TLV 0xD3), else its cookie (`!aol://2719:10-4-name`). */
  name: string;
}

export function readRoomInfo(raw: Uint8Array, snac: Snac): RoomInfo | undefined {
  const c = new Cursor(raw, snac.dataStart, snac.end);
  c.skip(2); // exchange
  const cookie = c.take(c.u8());
  c.skip(2 + 1); // instance, detail level
  const count = c.u16();
  if (c.overflow) return undefined;
  const tlvs = readTlvs(raw, c.at, snac.end, count).tlvs;
  const name = findTlv(tlvs, 0x00d3);
  const text = name === undefined ? latin1(cookie) : decodeName(tlvValue(raw, name));
  return text === '' ? undefined : { name: text };
}

export interface ChatMessage {
  /** The sender's screen name, as sent (messages from the room only). */
  sender?: Uint8Array;
  text: string;
}

/** A chat message to (0x0E/0x05) or from (0x0E/0x06) the room. */
export function readChatMessage(raw: Uint8Array, snac: Snac, incoming: boolean): ChatMessage | { error: string } | undefined {
  const c = new Cursor(raw, snac.dataStart, snac.end);
  c.skip(8); // cookie
  c.skip(2); // channel (3)
  if (c.overflow) return { error: 'chat message header runs past the SNAC' };
  const list = readTlvs(raw, c.at, snac.end);
  if (list.error !== undefined) return { error: `chat message: ${list.error}` };
  const info = findTlv(list.tlvs, 0x0005);
  if (info === undefined) return undefined;
  const inner = readTlvs(raw, info.valueStart, info.valueEnd).tlvs;
  const textTlv = findTlv(inner, 0x0001);
  if (textTlv === undefined) return undefined;
  const encodingTlv = findTlv(inner, 0x0002);
  const encoding = encodingTlv === undefined ? '' : latin1(tlvValue(raw, encodingTlv)).toLowerCase();
  const bytes = tlvValue(raw, textTlv);
  const text = encoding.startsWith('unicode')
    ? decodeText(bytes, Charset.UCS2BE)
    : encoding === 'iso-8859-1'
      ? decodeText(bytes, Charset.LATIN1)
      : decodeText(bytes, Charset.ASCII);
  const message: ChatMessage = { text };
  if (incoming) {
    const senderTlv = findTlv(list.tlvs, 0x0003);
    if (senderTlv !== undefined) {
      const s = new Cursor(raw, senderTlv.valueStart, senderTlv.valueEnd);
      const name = s.take(s.u8());
      if (!s.overflow && name.length > 0) message.sender = name;
    }
  }
  return message;
}
