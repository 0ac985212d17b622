/**
 * ICBM (family 4): instant messages and what travels like them. A message from the client (4/0x06) names the
 * recipient, one from the server (4/0x07) the sender with its user info; both carry the message channel:
 * 1 plain IM (TLV 2: fragments, text fragments with their charset), 2 rendezvous (TLV 5: proposal, cancel or
 * accept of a file transfer or direct connection), 4 ICQ legacy (TLV 5: UIN, type, little-endian text).
 * Typing notifications (4/0x14) name the other party the same way.
 *
 * Offsets are kept relative to the FLAP, so a rewrite can replace the message TLV and fix the FLAP length.
 */
import { latin1 } from '@imspect/sdk';
import { Cursor } from './cursor.js';
import type { Snac } from './snac.js';
import { findTlv, readTlvs, tlvValue, type Tlv } from './tlv.js';
import { decodeText } from './text.js';

export interface IcbmHeader {
  cookie: Uint8Array;
  channel: number;
  /** The other party's screen name or UIN, as sent. */
  name: Uint8Array;
  /** The message TLVs (after the user info of an incoming message). */
  tlvs: Tlv[];
  /** A TLV block that ran past the SNAC (the TLVs before it are kept). */
  error?: string;
}

/** The header of 4/0x06 (`incoming` false) or 4/0x07 (`incoming` true). */
export function readIcbm(raw: Uint8Array, snac: Snac, incoming: boolean): IcbmHeader | { error: string } {
  const c = new Cursor(raw, snac.dataStart, snac.end);
  const cookie = c.take(8);
  const channel = c.u16();
  const name = c.take(c.u8());
  let infoError: string | undefined;
  if (incoming) {
    c.skip(2); // warning level
    const count = c.u16();
    if (c.overflow) return { error: 'ICBM header runs past the SNAC' };
    const info = readTlvs(raw, c.at, snac.end, count);
    if (info.error !== undefined) infoError = `user info: ${info.error}`;
    c.at = info.end;
  }
  if (c.overflow) return { error: 'ICBM header runs past the SNAC' };
  if (infoError !== undefined) return { cookie, channel, name, tlvs: [], error: infoError };
  const list = readTlvs(raw, c.at, snac.end);
  return { cookie, channel, name, tlvs: list.tlvs, ...(list.error !== undefined ? { error: list.error } : {}) };
}

export interface TextFragment {
  charset: number;
  /** Offsets of the text in the FLAP. */
  start: number;
  end: number;
}

export interface Channel1Message {
  /** The message TLV (type 2). */
  tlv: Tlv;
  /** Fragments that are not text (capabilities), as they were, to keep in a rewrite. */
  others: Uint8Array[];
  texts: TextFragment[];
  text: string;
  error?: string;
}

/** The text of a channel-1 message: its text fragments (id 1) joined in order. */
export function readChannel1(raw: Uint8Array, tlvs: readonly Tlv[]): Channel1Message | undefined {
  const tlv = findTlv(tlvs, 0x0002);
  if (tlv === undefined) return undefined;
  const c = new Cursor(raw, tlv.valueStart, tlv.valueEnd);
  const others: Uint8Array[] = [];
  const texts: TextFragment[] = [];
  let error: string | undefined;
  while (c.left > 0) {
    const at = c.at;
    const id = c.u8();
    c.skip(1); // version
    const length = c.u16();
    const body = c.take(length);
    if (c.overflow) {
      error = `message fragment at offset ${at} runs past its TLV`;
      break;
    }
    if (id === 0x01 && length >= 4) {
      texts.push({ charset: (body[0]! << 8) | body[1]!, start: at + 8, end: at + 4 + length });
    } else others.push(raw.subarray(at, at + 4 + length));
  }
  if (texts.length === 0) return undefined;
  const text = texts.map((t) => decodeText(raw.subarray(t.start, t.end), t.charset)).join('');
  return { tlv, others, texts, text, ...(error !== undefined ? { error } : {}) };
}

export const RendezvousType = { PROPOSE: 0, CANCEL: 1, ACCEPT: 2 } as const;

/** Capabilities (GUIDs) of the rendezvous services imspect names. */
const CAPABILITY_NAMES: Record<string, string> = {
  '094613434c7f11d18222444553540000': 'file-transfer',
  '094613454c7f11d18222444553540000': 'direct-connect',
  '094613484c7f11d18222444553540000': 'file-sharing',
  '094613414c7f11d18222444553540000': 'voice',
  '094613464c7f11d18222444553540000': 'video',
  '748f2420628711d18222444553540000': 'chat',
  '094613494c7f11d18222444553540000': 'icq-server-relay',
};

export interface Rendezvous {
  type: number;
  cookie: Uint8Array;
  capability: Uint8Array;
  /** What the capability stands for (`file-transfer`, `direct-connect`, ...), else its GUID in hex. */
  service: string;
  file?: { name: string; size?: number; count: number };
  /** The proposer's address and port, when given. */
  address?: string;
  port?: number;
  /** An invitation text (TLV 0x000C). */
  message?: string;
  /** The capability-specific extension data (TLV 0x2711), as offsets in the FLAP. */
  extension?: Tlv;
}

/** The rendezvous block of a channel-2 message (TLV 5). */
export function readRendezvous(raw: Uint8Array, tlvs: readonly Tlv[]): Rendezvous | { error: string } | undefined {
  const block = findTlv(tlvs, 0x0005);
  if (block === undefined) return undefined;
  const c = new Cursor(raw, block.valueStart, block.valueEnd);
  const type = c.u16();
  const cookie = c.take(8);
  const capability = c.take(16);
  if (c.overflow) return { error: 'rendezvous block shorter than its 26-byte header' };
  const hexCap = [...capability].map((b) => b.toString(16).padStart(2, '0')).join('');
  const result: Rendezvous = { type, cookie, capability, service: CAPABILITY_NAMES[hexCap] ?? hexCap };
  const inner = readTlvs(raw, c.at, block.valueEnd);
  const ip = findTlv(inner.tlvs, 0x0002) ?? findTlv(inner.tlvs, 0x0003);
  if (ip !== undefined && ip.valueEnd - ip.valueStart === 4) result.address = [...tlvValue(raw, ip)].join('.');
  const port = findTlv(inner.tlvs, 0x0005);
  if (port !== undefined && port.valueEnd - port.valueStart === 2) result.port = (raw[port.valueStart]! << 8) | raw[port.valueStart + 1]!;
  const message = findTlv(inner.tlvs, 0x000c);
  if (message !== undefined) {
    const charset = findTlv(inner.tlvs, 0x000d);
    const name = charset === undefined ? '' : latin1(tlvValue(raw, charset)).toLowerCase();
    result.message = decodeText(tlvValue(raw, message), name.includes('unicode') || name.includes('utf-16') ? 0x0002 : 0x0000);
  }
  const extended = findTlv(inner.tlvs, 0x2711);
  if (extended !== undefined) result.extension = extended;
  if (extended !== undefined && result.service === 'file-transfer') {
    const e = new Cursor(raw, extended.valueStart, extended.valueEnd);
    e.skip(2); // 1: one file, 2: several
    const count = e.u16();
    const size = e.u32();
    const nameBytes = e.take(e.left);
    if (!e.overflow) {
      const charsetTlv = findTlv(inner.tlvs, 0x2712);
      const charset = charsetTlv === undefined ? '' : latin1(tlvValue(raw, charsetTlv)).toLowerCase();
      const name = decodeText(nameBytes, charset.includes('unicode') || charset.includes('utf-16') ? 0x0002 : 0x0000);
      result.file = { name, size, count };
    }
  }
  return result;
}

export interface IcqLegacyMessage {
  uin: number;
  type: number;
  text: string;
  /** Offsets of the TLV 5 value in the FLAP. */
  tlv: Tlv;
}

/** Channel 4: the ICQ message block (little-endian): sender UIN, type, flags, NUL-terminated text. */
export function readChannel4(raw: Uint8Array, tlvs: readonly Tlv[]): IcqLegacyMessage | { error: string } | undefined {
  const tlv = findTlv(tlvs, 0x0005);
  if (tlv === undefined) return undefined;
  const c = new Cursor(raw, tlv.valueStart, tlv.valueEnd);
  const uin = c.u32le();
  const type = c.u8();
  c.skip(1); // flags
  const length = c.u16le();
  const body = c.take(length);
  if (c.overflow) return { error: 'ICQ message block runs past its TLV' };
  return { uin, type, text: decodeText(body, 0x0000), tlv };
}

/** A typing notification (4/0x14): cookie, channel, the other party, the state (0 done, 1 paused, 2 typing). */
export function readTyping(raw: Uint8Array, snac: Snac): { name: Uint8Array; state: number } | { error: string } {
  const c = new Cursor(raw, snac.dataStart, snac.end);
  c.skip(8);
  c.skip(2);
  const name = c.take(c.u8());
  const state = c.u16();
  if (c.overflow) return { error: 'typing notification runs past the SNAC' };
  return { name, state };
}

/** The GUID an ICQ client puts after a relayed message whose text is UTF-8. */
const UTF8_GUID = '{0946134E-4C7F-11D1-8222-444553540000}';

/**
 * An ICQ message relayed through the server on channel 2 (capability 09461349, "server relay", what ICQ 2001 and
 * later send to each other): in the extension data, a little-endian header (length, protocol version, plugin
 * GUID: zeros for a message, ...), a second block (length, counter, zeros), then the message: type, flags,
 * status, priority, length, NUL-terminated text, colours, and the GUID of its encoding.
 */
export function readServerRelay(raw: Uint8Array, extension: Tlv): { type: number; text: string } | undefined {
  const c = new Cursor(raw, extension.valueStart, extension.valueEnd);
  const first = c.u16le();
  const headerStart = c.at;
  c.skip(2); // protocol version
  const plugin = c.take(16);
  c.at = headerStart + first;
  c.skip(c.u16le());
  if (c.overflow || plugin.some((b) => b !== 0)) return undefined;
  const type = c.u8();
  c.skip(1 + 2 + 2); // flags, status, priority
  const body = c.take(c.u16le());
  if (c.overflow) return undefined;
  c.skip(8); // colours
  const guidLength = c.u32le();
  const guid = c.overflow || guidLength > 64 ? '' : latin1(c.take(guidLength));
  let end = body.length;
  while (end > 0 && body[end - 1] === 0) end--;
  const text = guid.toUpperCase() === UTF8_GUID ? new TextDecoder('utf-8').decode(body.subarray(0, end)) : decodeText(body, 0x0000);
  return { type, text };
}
