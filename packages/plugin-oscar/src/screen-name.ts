/**
 * Ids. AIM screen names compare without case and spaces ("Sec558 User1" is "sec558user1"); ICQ UINs are decimal
 * numbers and stay as they are.
 */
import { latin1, utf8 } from '@imspect/sdk';

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
  const view = bytes.subarray(0, end);
  return isUtf8(view) ? utf8(view) : latin1(view);
}

/** The id before the connection has named it (the SDK's convention for an unknown party). */
export const UNKNOWN_ID = '*';

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

export function isUtf8(bytes: Uint8Array): boolean {
  try {
    strictUtf8.decode(bytes);
    return true;
  } catch {
    return false;
  }
}
