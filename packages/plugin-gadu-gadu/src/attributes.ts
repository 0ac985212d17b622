/**
 * Message attributes: the blocks after a message's text (old packets) or at its attribute offset (8.0), or in
 * field 7 of 11.0 messages. Each block starts with a flag byte:
 * 0x01 conference recipients (count u32, then uins), 0x02 rich text (length u16, then formats),
 * 0x04 image request (size u32, crc32 u32), 0x05 image reply (size, crc32, NUL-terminated file name, data),
 * 0x06 more of an image reply (size, crc32, data).
 */
import { decodeCp1250 } from './cp1250.js';

export const AttributeFlag = { RECIPIENTS: 0x01, RICHTEXT: 0x02, IMAGE_REQUEST: 0x04, IMAGE_REPLY: 0x05, IMAGE_REPLY_MORE: 0x06 } as const;

export interface Range {
  start: number;
  end: number;
}

export interface Attributes {
  /** The other recipients of a conference message (uins). */
  recipients: string[];
  /** Where the recipients block lies (flag included). */
  recipientsRange?: Range;
  /** The rich text block (flag included). */
  richtext?: Range;
  imageRequest?: { size: number; crc32: number };
  image?: { name?: string; size: number; crc32: number; more: boolean };
  /** What was wrong, if anything; the blocks read before it are kept. */
  error?: string;
}

function u16(b: Uint8Array, at: number): number | undefined {
  return at + 2 <= b.length ? b[at]! | (b[at + 1]! << 8) : undefined;
}
function u32(b: Uint8Array, at: number): number | undefined {
  return at + 4 <= b.length ? (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24)) >>> 0 : undefined;
}

/** Reads the blocks of `bytes` from `start`; offsets in the result are offsets in `bytes`. */
export function decodeAttributes(bytes: Uint8Array, start: number): Attributes {
  const out: Attributes = { recipients: [] };
  let at = start;
  while (at < bytes.length) {
    const flag = bytes[at]!;
    switch (flag) {
      case AttributeFlag.RECIPIENTS: {
        const count = u32(bytes, at + 1);
        if (count === undefined || at + 5 + count * 4 > bytes.length) return { ...out, error: 'conference recipients past the end of the packet' };
        for (let i = 0; i < count; i++) out.recipients.push(String(u32(bytes, at + 5 + i * 4)));
        out.recipientsRange = { start: at, end: at + 5 + count * 4 };
        at = out.recipientsRange.end;
        break;
      }
      case AttributeFlag.RICHTEXT: {
        const length = u16(bytes, at + 1);
        if (length === undefined || at + 3 + length > bytes.length) return { ...out, error: 'rich text attributes past the end of the packet' };
        out.richtext = { start: at, end: at + 3 + length };
        at = out.richtext.end;
        break;
      }
      case AttributeFlag.IMAGE_REQUEST: {
        const size = u32(bytes, at + 1);
        const crc32 = u32(bytes, at + 5);
        if (size === undefined || crc32 === undefined) return { ...out, error: 'image request past the end of the packet' };
        out.imageRequest = { size, crc32 };
        at += 9;
        break;
      }
      case AttributeFlag.IMAGE_REPLY:
      case AttributeFlag.IMAGE_REPLY_MORE: {
        const size = u32(bytes, at + 1);
        const crc32 = u32(bytes, at + 5);
        if (size === undefined || crc32 === undefined) return { ...out, error: 'image reply past the end of the packet' };
        const image: Attributes['image'] = { size, crc32, more: flag === AttributeFlag.IMAGE_REPLY_MORE };
        if (flag === AttributeFlag.IMAGE_REPLY) {
          let nul = at + 9;
          while (nul < bytes.length && bytes[nul] !== 0) nul++;
          image.name = decodeCp1250(bytes.subarray(at + 9, nul));
        }
        out.image = image;
        // The image data runs to the end of the packet.
        return out;
      }
      default:
        return { ...out, error: `unknown attribute 0x${flag.toString(16).padStart(2, '0')}` };
    }
  }
  return out;
}
