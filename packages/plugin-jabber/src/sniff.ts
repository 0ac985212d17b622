/**
 * Recognises an XMPP stream from its first bytes: an optional XML declaration, then `<stream:stream`.
 * Says no until the header's name is complete, so a short first read is asked again with more bytes.
 */
import { latin1 } from '@imspect/sdk';

export function sniffXmpp(firstBytes: Uint8Array, _direction?: unknown): boolean {
  let text = latin1(firstBytes.subarray(0, 1024));
  if (text.startsWith('\xef\xbb\xbf')) text = text.slice(3);
  text = text.trimStart();
  if (text.startsWith('<?xml')) {
    const end = text.indexOf('?>');
    if (end < 0) return false;
    text = text.slice(end + 2).trimStart();
  }
  return /^<stream:stream[\s>]/.test(text);
}
