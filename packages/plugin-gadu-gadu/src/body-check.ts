/**
 * Whether a packet body is consistent with its type on its own: used when looking for the first packet after
 * bytes that were not packets, where a header read from the middle of data must not be believed lightly. A
 * body that passes needs no second header to confirm it (so the last packet of a stream is found too).
 */
import type { Direction } from '@imspect/sdk';
import { decodeAttributes } from './attributes.js';
import { In, Out } from './packet-types.js';

function u32(b: Uint8Array, at: number): number {
  return (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24)) >>> 0;
}

/** 8.0 messages: the plain-text and attribute offsets inside the body, each after a NUL. */
function message80(body: Uint8Array, fixed: number, plainAt: number, attrAt: number): boolean {
  if (body.length < fixed || !plausibleClass(u32(body, plainAt - 4))) return false;
  const plain = u32(body, plainAt);
  const attr = u32(body, attrAt);
  return plain > fixed && plain <= attr && attr <= body.length && body[plain - 1] === 0 && body[attr - 1] === 0;
}

/** Old messages: text from `textAt`, its NUL, then attribute blocks that end exactly at the end of the body. */
function oldMessage(body: Uint8Array, textAt: number): boolean {
  if (body.length <= textAt) return false;
  const nul = body.indexOf(0, textAt);
  return nul >= 0 && decodeAttributes(body, nul + 1).error === undefined;
}

/** How much of a body `contradicts` reads: the fixed fields of the longest message header. */
export const PREFIX_CHECKED = 24;

/** Message classes are a few flag bits. */
const plausibleClass = (value: number) => value < 0x10000;

/**
 * Whether the first bytes of a body (it may be incomplete) already contradict a packet of `type` with a body
 * of `length` bytes: offsets past the length, a message class that is not flags. Lets the search go on past a
 * long candidate at once instead of waiting for its body.
 */
export function contradicts(direction: Direction, type: number, length: number, prefix: Uint8Array): boolean {
  const offsets = (fixed: number, plainAt: number, attrAt: number, classAt: number) => {
    if (prefix.length >= classAt + 4 && !plausibleClass(u32(prefix, classAt))) return true;
    if (prefix.length < fixed) return false;
    const plain = u32(prefix, plainAt);
    const attr = u32(prefix, attrAt);
    return !(plain > fixed && plain <= attr && attr <= length);
  };
  if (direction === 'outgoing') {
    if (type === Out.SEND_MSG80) return offsets(20, 12, 16, 8);
    if (type === Out.SEND_MSG) return prefix.length >= 12 && !plausibleClass(u32(prefix, 8));
    return false;
  }
  if (type === In.RECV_MSG80 || type === In.RECV_OWN_MSG) return offsets(24, 16, 20, 12);
  if (type === In.RECV_MSG) return prefix.length >= 16 && !plausibleClass(u32(prefix, 12));
  return false;
}

/** Status records of 8.0: uin, status, features, ip, port, image size, a byte, flags, description length, text. */
function statusRecords(body: Uint8Array): boolean {
  let at = 0;
  while (at < body.length) {
    if (at + 28 > body.length) return false;
    at += 28 + u32(body, at + 24);
  }
  return at === body.length && body.length > 0;
}

export function isSelfConsistent(direction: Direction, type: number, body: Uint8Array): boolean {
  if (direction === 'outgoing') {
    switch (type) {
      case Out.SEND_MSG80:
        return message80(body, 20, 12, 16);
      case Out.SEND_MSG:
        return plausibleClass(u32(body, 8)) && oldMessage(body, 12);
      case Out.NEW_STATUS80:
      case Out.NEW_STATUS105: {
        const extra = body.length - 12 - u32(body, 8);
        return body.length >= 12 && (extra === 0 || (extra === 1 && body[body.length - 1] === 0));
      }
      case Out.LOGIN80:
      case Out.LOGIN80BETA: {
        if (body.length < 105) return false;
        const versionEnd = 101 + u32(body, 97);
        return versionEnd + 4 <= body.length && versionEnd + 4 + u32(body, versionEnd) === body.length;
      }
      case Out.NOTIFY_FIRST:
      case Out.NOTIFY_LAST:
        return body.length % 5 === 0;
      case Out.TYPING_NOTIFY:
      case Out.RECV_MSG_ACK:
      case Out.DCC7_NEW:
      case Out.DCC7_ACCEPT:
      case Out.DCC7_REJECT:
      case Out.LIST_EMPTY:
      case Out.ADD_NOTIFY:
      case Out.REMOVE_NOTIFY:
        return true; // fixed sizes, already checked against the length
      default:
        return false;
    }
  }
  switch (type) {
    case In.RECV_MSG80:
    case In.RECV_OWN_MSG:
      return message80(body, 24, 16, 20);
    case In.RECV_MSG:
      return plausibleClass(u32(body, 12)) && oldMessage(body, 16);
    case In.STATUS80:
    case In.NOTIFY_REPLY80:
      return statusRecords(body);
    case In.WELCOME:
    case In.SEND_MSG_ACK:
    case In.TYPING_NOTIFY:
    case In.DISCONNECTING:
    case In.DISCONNECT_ACK:
    case In.DCC7_NEW:
    case In.DCC7_ACCEPT:
    case In.DCC7_REJECT:
    case In.DCC7_ID_REPLY:
    case In.USERLIST100_VERSION:
      return true;
    default:
      return false;
  }
}
