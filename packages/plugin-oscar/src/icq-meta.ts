/**
 * ICQ's old service (family 0x15) tunnels little-endian requests and replies in TLV 1: chunk size, owner UIN,
 * type, sequence, then the data. Type 0x41 from the server is one offline message (sender UIN, date sent,
 * message type, text); 0x42 ends them; 0x3C from the client asks for them.
 */
import { Cursor } from './cursor.js';
import { findTlv, readTlvs } from './tlv.js';
import { decodeText } from './text.js';

export const MetaType = { OFFLINE_REQUEST: 0x3c, OFFLINE_MESSAGE: 0x41, OFFLINE_DONE: 0x42 } as const;

export interface MetaBlock {
  owner: number;
  type: number;
  /** Offset and end of the type-specific data. */
  dataStart: number;
  end: number;
}

export function readMeta(raw: Uint8Array, start: number, end: number): MetaBlock | { error: string } | undefined {
  const tlv = findTlv(readTlvs(raw, start, end).tlvs, 0x0001);
  if (tlv === undefined) return undefined;
  const c = new Cursor(raw, tlv.valueStart, tlv.valueEnd);
  c.u16le();
  const owner = c.u32le();
  const type = c.u16le();
  c.u16le();
  if (c.overflow) return { error: 'ICQ meta block shorter than its header' };
  return { owner, type, dataStart: c.at, end: tlv.valueEnd };
}

export interface OfflineMessage {
  from: number;
  /** When it was sent, as the server says (UTC). */
  sent: string;
  type: number;
  text: string;
}

export function readOfflineMessage(raw: Uint8Array, meta: MetaBlock): OfflineMessage | { error: string } {
  const c = new Cursor(raw, meta.dataStart, meta.end);
  const from = c.u32le();
  const year = c.u16le();
  const month = c.u8();
  const day = c.u8();
  const hour = c.u8();
  const minute = c.u8();
  const type = c.u8();
  c.u8(); // flags
  const text = decodeText(c.take(c.u16le()), 0x0000);
  if (c.overflow) return { error: 'offline message runs past its block' };
  const pad = (n: number) => String(n).padStart(2, '0');
  return { from, sent: `${String(year).padStart(4, '0')}-${pad(month)}-${pad(day)}T${pad(hour)}:${pad(minute)}Z`, type, text };
}
