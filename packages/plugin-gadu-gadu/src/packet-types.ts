/**
 * Gadu-Gadu packet types, per direction (the same number means different packets each way: 0x0b is a message
 * from the client and the server's goodbye), with the body lengths each may have. The lengths are what the
 * framer trusts when it looks for the next packet after bytes that were not one (a gap, a mid-stream start).
 *
 * Names and layouts follow libgadu's protocol description (docs/protocol.html, include/protocol.h) and the
 * Wireshark `gadu-gadu` dissector.
 */
import type { Direction } from '@imspect/sdk';

/** Client -> server. */
export const Out = {
  NEW_STATUS: 0x02,
  PING: 0x08,
  SEND_MSG: 0x0b,
  LOGIN: 0x0c,
  ADD_NOTIFY: 0x0d,
  REMOVE_NOTIFY: 0x0e,
  NOTIFY_FIRST: 0x0f,
  NOTIFY_LAST: 0x10,
  LIST_EMPTY: 0x12,
  LOGIN_EXT: 0x13,
  PUBDIR50_REQUEST: 0x14,
  LOGIN60: 0x15,
  USERLIST_REQUEST: 0x16,
  LOGIN70: 0x19,
  DCC7_INFO: 0x1f,
  DCC7_NEW: 0x20,
  DCC7_ACCEPT: 0x21,
  DCC7_REJECT: 0x22,
  DCC7_ID_REQUEST: 0x23,
  DCC7_ABORT: 0x25,
  NEW_STATUS80BETA: 0x28,
  LOGIN80BETA: 0x29,
  SEND_MSG80: 0x2d,
  LOGIN80: 0x31,
  NEW_STATUS80: 0x38,
  USERLIST100_REQUEST: 0x40,
  RECV_MSG_ACK: 0x46,
  CHAT_CREATE: 0x47,
  CHAT_LEAVE: 0x52,
  TYPING_NOTIFY: 0x59,
  MULTILOGON_DISCONNECT: 0x62,
  NEW_STATUS105: 0x63,
  NOTIFY105_FIRST: 0x77,
  NOTIFY105_LAST: 0x78,
  NOTIFY105_LIST_EMPTY: 0x79,
  ADD_NOTIFY105: 0x7b,
  REMOVE_NOTIFY105: 0x7c,
  SEND_MSG110: 0x7d,
  LOGIN105: 0x83,
  ACK110: 0x86,
  CHAT_SEND_MSG: 0x8d,
  CHAT_INVITE: 0x90,
} as const;

/** Server -> client. */
export const In = {
  WELCOME: 0x01,
  STATUS: 0x02,
  LOGIN_OK: 0x03,
  SEND_MSG_ACK: 0x05,
  PONG: 0x07,
  LOGIN_FAILED: 0x09,
  RECV_MSG: 0x0a,
  DISCONNECTING: 0x0b,
  NOTIFY_REPLY: 0x0c,
  DISCONNECT_ACK: 0x0d,
  PUBDIR50_REPLY: 0x0e,
  STATUS60: 0x0f,
  USERLIST_REPLY: 0x10,
  NOTIFY_REPLY60: 0x11,
  NEED_EMAIL: 0x14,
  LOGIN_HASH_TYPE_INVALID: 0x16,
  STATUS77: 0x17,
  NOTIFY_REPLY77: 0x18,
  DCC7_INFO: 0x1f,
  DCC7_NEW: 0x20,
  DCC7_ACCEPT: 0x21,
  DCC7_REJECT: 0x22,
  DCC7_ID_REPLY: 0x23,
  DCC7_ABORTED: 0x25,
  XML_EVENT: 0x27,
  STATUS80BETA: 0x2a,
  NOTIFY_REPLY80BETA: 0x2b,
  XML_ACTION: 0x2c,
  RECV_MSG80: 0x2e,
  LOGIN80_OK: 0x35,
  STATUS80: 0x36,
  NOTIFY_REPLY80: 0x37,
  USERLIST100_REPLY: 0x41,
  LOGIN80_FAILED: 0x43,
  USER_DATA: 0x44,
  CHAT_CREATED: 0x45,
  CHAT_INVITE_ACK: 0x47,
  TYPING_NOTIFY: 0x59,
  RECV_OWN_MSG: 0x5a,
  MULTILOGON_INFO: 0x5b,
  USERLIST100_VERSION: 0x5c,
  CHAT_LEFT: 0x66,
  RECV_MSG110: 0x7e,
  RECV_OWN_MSG110: 0x82,
  EVENT110: 0x84,
  SEND_MSG_ACK110: 0x87,
  CHAT_RECV_MSG: 0x88,
  IMTOKEN: 0x8c,
  CHAT_RECV_OWN_MSG: 0x8e,
  ACCESS_INFO: 0x8f,
  CHAT_INFO: 0x93,
  OPTIONS: 0x9b,
  LOGIN110_OK: 0x9d,
  CHAT_INFO_UPDATE: 0x9e,
  PONG110: 0xa1,
} as const;

/** The header: type (u32 LE), then the body length (u32 LE). */
export const HEADER_BYTES = 8;

/** Body length bounds of a packet type, as the protocol defines them. */
interface Bounds {
  min: number;
  max: number;
}

const ANY = 0x7fffffff;
const exactly = (n: number): Bounds => ({ min: n, max: n });
const between = (min: number, max: number): Bounds => ({ min, max });

/** Sizes of fixed parts: DCC7 offer = id 8 + from 4 + to 4 + type 4 + name 255 + size 8 + hash 20. */
export const DCC7_NEW_BYTES = 303;

const OUT_BOUNDS = new Map<number, Bounds>([
  [Out.NEW_STATUS, between(4, 4 + 256 + 4)],
  [Out.PING, exactly(0)],
  [Out.SEND_MSG, between(13, ANY)],
  [Out.LOGIN, between(22, 22 + 256 + 4)],
  [Out.ADD_NOTIFY, exactly(5)],
  [Out.REMOVE_NOTIFY, exactly(5)],
  [Out.NOTIFY_FIRST, between(5, ANY)],
  [Out.NOTIFY_LAST, between(0, ANY)],
  [Out.LIST_EMPTY, exactly(0)],
  [Out.LOGIN_EXT, between(28, 28 + 256 + 4)],
  [Out.PUBDIR50_REQUEST, between(5, 4096)],
  [Out.LOGIN60, between(31, 31 + 256 + 4)],
  [Out.USERLIST_REQUEST, between(1, ANY)],
  [Out.LOGIN70, between(92, 92 + 256 + 4)],
  [Out.DCC7_INFO, exactly(80)],
  [Out.DCC7_NEW, exactly(DCC7_NEW_BYTES)],
  [Out.DCC7_ACCEPT, exactly(20)],
  [Out.DCC7_REJECT, exactly(16)],
  [Out.DCC7_ID_REQUEST, exactly(4)],
  [Out.DCC7_ABORT, exactly(16)],
  [Out.NEW_STATUS80BETA, between(4, 4 + 256 + 4)],
  [Out.LOGIN80BETA, between(97, 4096)],
  [Out.SEND_MSG80, between(20, ANY)],
  [Out.LOGIN80, between(105, 4096)],
  [Out.NEW_STATUS80, between(12, 12 + 4096)],
  [Out.USERLIST100_REQUEST, between(7, ANY)],
  [Out.RECV_MSG_ACK, exactly(4)],
  [Out.CHAT_CREATE, exactly(8)],
  [Out.CHAT_LEAVE, exactly(12)],
  [Out.TYPING_NOTIFY, exactly(6)],
  [Out.MULTILOGON_DISCONNECT, exactly(8)],
  [Out.NEW_STATUS105, between(12, 12 + 4096)],
  [Out.NOTIFY105_FIRST, between(1, ANY)],
  [Out.NOTIFY105_LAST, between(0, ANY)],
  [Out.NOTIFY105_LIST_EMPTY, exactly(0)],
  [Out.ADD_NOTIFY105, between(3, 64)],
  [Out.REMOVE_NOTIFY105, between(3, 64)],
  [Out.SEND_MSG110, between(2, ANY)],
  [Out.LOGIN105, between(10, 8192)],
  [Out.ACK110, between(2, 64)],
  [Out.CHAT_SEND_MSG, between(2, ANY)],
  [Out.CHAT_INVITE, between(16, ANY)],
]);

const IN_BOUNDS = new Map<number, Bounds>([
  [In.WELCOME, exactly(4)],
  [In.STATUS, between(8, 8 + 256 + 4)],
  [In.LOGIN_OK, between(0, 64)],
  [In.SEND_MSG_ACK, exactly(12)],
  [In.PONG, between(0, 64)],
  [In.LOGIN_FAILED, between(0, 64)],
  [In.RECV_MSG, between(16, ANY)],
  [In.DISCONNECTING, exactly(0)],
  [In.NOTIFY_REPLY, between(0, ANY)],
  [In.DISCONNECT_ACK, exactly(0)],
  [In.PUBDIR50_REPLY, between(5, ANY)],
  [In.STATUS60, between(14, 14 + 256 + 4)],
  [In.USERLIST_REPLY, between(1, ANY)],
  [In.NOTIFY_REPLY60, between(0, ANY)],
  [In.NEED_EMAIL, between(0, 64)],
  [In.LOGIN_HASH_TYPE_INVALID, between(0, 64)],
  [In.STATUS77, between(18, 18 + 256 + 4)],
  [In.NOTIFY_REPLY77, between(0, ANY)],
  [In.DCC7_INFO, exactly(80)],
  [In.DCC7_NEW, exactly(DCC7_NEW_BYTES)],
  [In.DCC7_ACCEPT, exactly(20)],
  [In.DCC7_REJECT, exactly(16)],
  [In.DCC7_ID_REPLY, exactly(12)],
  [In.DCC7_ABORTED, between(8, 16)],
  [In.XML_EVENT, between(0, ANY)],
  [In.STATUS80BETA, between(28, 28 + 4096)],
  [In.NOTIFY_REPLY80BETA, between(0, ANY)],
  [In.XML_ACTION, between(0, ANY)],
  [In.RECV_MSG80, between(24, ANY)],
  [In.LOGIN80_OK, between(0, 64)],
  [In.STATUS80, between(28, 28 + 4096)],
  [In.NOTIFY_REPLY80, between(0, ANY)],
  [In.USERLIST100_REPLY, between(7, ANY)],
  [In.LOGIN80_FAILED, between(0, 64)],
  [In.USER_DATA, between(8, ANY)],
  [In.CHAT_CREATED, exactly(12)],
  [In.CHAT_INVITE_ACK, exactly(20)],
  [In.TYPING_NOTIFY, exactly(6)],
  [In.RECV_OWN_MSG, between(24, ANY)],
  [In.MULTILOGON_INFO, between(4, ANY)],
  [In.USERLIST100_VERSION, exactly(4)],
  [In.CHAT_LEFT, exactly(12)],
  [In.RECV_MSG110, between(2, ANY)],
  [In.RECV_OWN_MSG110, between(2, ANY)],
  [In.EVENT110, between(2, ANY)],
  [In.SEND_MSG_ACK110, between(2, ANY)],
  [In.CHAT_RECV_MSG, between(2, ANY)],
  [In.IMTOKEN, between(2, ANY)],
  [In.CHAT_RECV_OWN_MSG, between(2, ANY)],
  [In.ACCESS_INFO, between(2, 256)],
  [In.CHAT_INFO, between(8, ANY)],
  [In.OPTIONS, between(0, ANY)],
  [In.LOGIN110_OK, between(2, 512)],
  [In.CHAT_INFO_UPDATE, between(2, ANY)],
  [In.PONG110, between(2, 64)],
]);

const BOUNDS: Record<Direction, Map<number, Bounds>> = { outgoing: OUT_BOUNDS, incoming: IN_BOUNDS };

/** Types are small numbers: the highest the protocol uses is below this. */
export const TYPE_LIMIT = 0x100;

/** True when `type` is a packet the protocol defines for `direction`. */
export function isKnownType(direction: Direction, type: number): boolean {
  return BOUNDS[direction].has(type);
}

/** True when `length` is more than a packet of the known `type` can have: not that packet (a lost step). */
export function isTooLongFor(direction: Direction, type: number, length: number): boolean {
  const bounds = BOUNDS[direction].get(type);
  return bounds !== undefined && length > bounds.max;
}

/** True when a packet of `type` may have a body of `length` bytes (the type is known and the length fits it). */
export function isPlausible(direction: Direction, type: number, length: number): boolean {
  const bounds = BOUNDS[direction].get(type);
  return bounds !== undefined && length >= bounds.min && length <= bounds.max;
}

/**
 * Types a resynchronisation may start at: the known ones but the 8.0 beta and XML/event packets, whose numbers
 * (0x27..0x2c) and free lengths turn up in message fields far more often than the packets themselves.
 */
const NOT_FOR_RESYNC = new Set([0x27, 0x28, 0x29, 0x2a, 0x2b, 0x2c]);

export function isResyncType(direction: Direction, type: number): boolean {
  return isKnownType(direction, type) && !NOT_FOR_RESYNC.has(type);
}
