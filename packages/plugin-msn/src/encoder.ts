/**
 * Building MSNP bytes: messages re-encoded with new text (and their payload length), notices from the
 * switchboard to the local client, and redirect lines pointing at imspect.
 */
import { encodeUtf8 } from '@imspect/sdk';

/**
 * A payload command with a new payload: the line's words with the last one (the length) replaced.
 */
export function encodePayloadCommand(words: readonly string[], payload: Uint8Array): Uint8Array {
  const line = encodeUtf8(`${[...words.slice(0, -1), String(payload.byteLength)].join(' ')}\r\n`);
  const out = new Uint8Array(line.byteLength + payload.byteLength);
  out.set(line, 0);
  out.set(payload, line.byteLength);
  return out;
}

/** `head` (headers up to and including the empty line) followed by `text` in UTF-8. */
export function withBody(head: Uint8Array, text: string): Uint8Array {
  const body = encodeUtf8(text);
  const out = new Uint8Array(head.byteLength + body.byteLength);
  out.set(head, 0);
  out.set(body, head.byteLength);
  return out;
}

const TEXT_HEAD = 'MIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\n';

/** A switchboard `MSG` to the client: `MSG sender name len` and a plain text message. */
export function switchboardMessage(sender: string, displayName: string, text: string): Uint8Array {
  return encodePayloadCommand(['MSG', sender, encodeURIComponent(displayName), '0'], withBody(encodeUtf8(TEXT_HEAD), text));
}

/** An MSNP21 `SDG` to the client, as the notification server delivers a text message. */
export function sdgMessage(to: string, from: string, displayName: string, text: string): Uint8Array {
  const body = encodeUtf8(text);
  const head =
    `Routing: 1.0\r\nTo: ${to}\r\nFrom: ${from}\r\n\r\nReliability: 1.0\r\n\r\n` +
    `Messaging: 2.0\r\nMessage-Type: Text\r\nIM-Display-Name: ${displayName}\r\nContent-Type: text/plain; charset=UTF-8\r\n` +
    `Content-Length: ${body.byteLength}\r\n\r\n`;
  return encodePayloadCommand(['SDG', '0', '0'], withBody(encodeUtf8(head), text));
}

/** The line with word `index` replaced, terminated as the original was. */
export function replaceWord(words: readonly string[], index: number, word: string, terminator: string): Uint8Array {
  const copy = [...words];
  copy[index] = word;
  return encodeUtf8(`${copy.join(' ')}${terminator}`);
}
