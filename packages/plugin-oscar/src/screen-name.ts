/**
 * Ids. AIM screen names compare without case and spaces ("Sec558 User1" is "sec558user1"); ICQ UINs are decimal
 * numbers and stay as they are.
 */
import { latin1 } from '@imspect/sdk';

/** The id a screen name or UIN stands for: lower case, spaces removed. */
export function normaliseScreenName(name: string): string {
  return name.replace(/ /g, '').toLowerCase();
}

/** A screen name as sent (UTF-8 when valid, else one byte per character), normalised. */
export function screenNameId(bytes: Uint8Array): string {
  return normaliseScreenName(decodeName(bytes));
}

export function decodeName(bytes: Uint8Array): string {
  let end = bytes.length;
  while (end > 0 && bytes[end - 1] === 0) end--;
  return utf8OrLatin1(bytes.subarray(0, end));
}

/** The id before the connection has named it (the SDK's convention for an unknown party). */
export const UNKNOWN_ID = '*';

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** The bytes as UTF-8 when they are valid UTF-8 (ASCII included), else one byte per character: decoded once. */
export function utf8OrLatin1(bytes: Uint8Array): string {
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i]! >= 0x80) {
      try {
        return strictUtf8.decode(bytes);
      } catch {
        return latin1(bytes);
      }
    }
  }
  return latin1(bytes); // ASCII: the cheapest decoder
}
