/**
 * The contact list a client exports to the server or imports from it:
 * - GG_USERLIST_REQUEST (0x16) / GG_USERLIST_REPLY (0x10): a type byte, then CP1250 text, one contact per line
 *   (`first;last;nick;display;mobile;group;uin;email;...`), sent in parts (PUT, then PUT_MORE; GET_MORE_REPLY
 *   parts, then GET_REPLY);
 * - GG_USERLIST100_REQUEST (0x40) / GG_USERLIST100_REPLY (0x41): type, list version, format (1: the 7.0 text
 *   lines, 2: XML), a byte, then the list compressed with zlib.
 * Decompression is bounded: a list that inflates past the limit is reported, not held.
 */
import { inflateSync } from 'node:zlib';
import { utf8 } from '@imspect/sdk';
import { decodeCp1250 } from './cp1250.js';

/** Largest inflated contact list read (the compressed packet is already bounded by the frame limit). */
export const MAX_INFLATED_LIST = 4 * 1024 * 1024;

export const UserlistType = { PUT: 0x00, PUT_MORE: 0x01, GET: 0x02 } as const;
export const UserlistReplyType = { PUT_REPLY: 0x00, PUT_MORE_REPLY: 0x02, GET_MORE_REPLY: 0x04, GET_REPLY: 0x06 } as const;
export const Userlist100Type = { PUT: 0x00, GET: 0x02 } as const;
export const Userlist100ReplyType = { LIST: 0x00, UPTODATE: 0x01, ACK: 0x10, REJECT: 0x12 } as const;

export interface ContactList {
  text: string;
  /** Contacts in it: lines of the text format, `<Contact>` elements of the XML one. */
  contacts: number;
  error?: string;
}

export function countContacts(text: string): number {
  if (/^\s*</.test(text)) return (text.match(/<Contact\b/g) ?? []).length;
  return text.split(/\r?\n/).filter((line) => line.trim() !== '' && !line.startsWith('GG70ExportString')).length;
}

/** The text list of the older packets. */
export function readTextList(bytes: Uint8Array): ContactList {
  const text = decodeCp1250(bytes).replace(/\0+$/, '');
  return { text, contacts: countContacts(text) };
}

/** The compressed list of the 10.0 packets. */
export function readCompressedList(bytes: Uint8Array): ContactList {
  if (bytes.length === 0) return { text: '', contacts: 0 };
  try {
    const text = utf8(inflateSync(bytes, { maxOutputLength: MAX_INFLATED_LIST }));
    return { text, contacts: countContacts(text) };
  } catch (error) {
    const code = (error as { code?: string }).code;
    return {
      text: '',
      contacts: 0,
      error: code === 'ERR_BUFFER_TOO_LARGE' ? `contact list larger than ${MAX_INFLATED_LIST} bytes inflated` : 'contact list is not valid zlib data',
    };
  }
}
