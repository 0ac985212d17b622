/**
 * Signing on. To the authorizer, a client either sends its screen name (or UIN) and roasted password in the
 * channel-1 FLAP (the old ICQ login), or says hello on channel 1 and logs in with BUCP (family 0x17: key
 * request, key, MD5 login, reply). The authorizer's answer (channel 4, or BUCP 0x17/0x03) names the BOS server
 * and a cookie, or an error code. The client then signs on to the BOS server with the cookie on channel 1; other
 * services are reached the same way after a service redirect (0x01/0x05).
 *
 * Passwords, roasted or hashed, are never read out of the TLVs: only their presence is noticed.
 */
import { latin1 } from '@imspect/sdk';
import { Cursor } from './cursor.js';
import { FLAP_HEADER_BYTES } from './flap.js';
import { decodeName } from './screen-name.js';
import { findTlv, numberOf, readTlvs, tlvBytes, type Tlv } from './tlv.js';

export const Tag = {
  SCREEN_NAME: 0x0001,
  ROASTED_PASSWORD: 0x0002,
  CLIENT_NAME: 0x0003,
  ERROR_URL: 0x0004,
  SERVER_ADDRESS: 0x0005,
  COOKIE: 0x0006,
  ERROR_CODE: 0x0008,
  DISCONNECT_REASON: 0x0009,
  DISTRIBUTION: 0x0014,
  CLIENT_ID: 0x0016,
  MAJOR: 0x0017,
  MINOR: 0x0018,
  LESSER: 0x0019,
  BUILD: 0x001a,
  MD5_HASH: 0x0025,
} as const;

export interface ClientInfo {
  /** The client's id string (`ICQ Inc. - Product of ICQ (TM).2003b.5.56.1.3916.85`, `AOL Instant Messenger, version 5.9.3702/WIN32`, `imApp`). */
  name?: string;
  /** major.minor.lesser.build, as far as given. */
  version?: string;
  /** The numeric client id (TLV 0x16). */
  id?: number;
}

export interface SignOn {
  tlvs: Tlv[];
  screenName?: string;
  cookie?: Uint8Array;
  client: ClientInfo;
  /** Which secret the request carried (never its value). */
  secret?: 'roasted' | 'md5';
  error?: string;
}

/** Client info from login TLVs (channel 1, BUCP 0x17/0x02). */
export function clientInfo(raw: Uint8Array, tlvs: readonly Tlv[]): ClientInfo {
  const info: ClientInfo = {};
  const name = tlvBytes(raw, tlvs, Tag.CLIENT_NAME);
  if (name !== undefined && name.length > 0) info.name = latin1(name).replace(/\0+$/, '');
  const parts = [Tag.MAJOR, Tag.MINOR, Tag.LESSER, Tag.BUILD].map((t) => numberOf(raw, tlvs, t));
  const given = parts.indexOf(undefined);
  const present = given < 0 ? parts : parts.slice(0, given);
  if (present.length > 0) info.version = present.join('.');
  const id = numberOf(raw, tlvs, Tag.CLIENT_ID);
  if (id !== undefined) info.id = id;
  return info;
}

/** A sign-on FLAP from the client (channel 1): version, then TLVs. */
export function readSignOn(raw: Uint8Array): SignOn {
  const c = new Cursor(raw, FLAP_HEADER_BYTES);
  c.u32();
  if (c.overflow) return { tlvs: [], client: {}, error: 'sign-on FLAP shorter than its version' };
  return fromTlvs(raw, c.at, raw.length);
}

/** The TLVs of a BUCP login request (0x17/0x02) or key request (0x17/0x06). */
export function readBucpRequest(raw: Uint8Array, dataStart: number): SignOn {
  return fromTlvs(raw, dataStart, raw.length);
}

function fromTlvs(raw: Uint8Array, start: number, end: number): SignOn {
  const list = readTlvs(raw, start, end);
  const result: SignOn = { tlvs: list.tlvs, client: clientInfo(raw, list.tlvs) };
  const name = tlvBytes(raw, list.tlvs, Tag.SCREEN_NAME);
  if (name !== undefined && name.length > 0) result.screenName = decodeName(name);
  const cookie = tlvBytes(raw, list.tlvs, Tag.COOKIE);
  if (cookie !== undefined) result.cookie = cookie;
  if (findTlv(list.tlvs, Tag.ROASTED_PASSWORD)) result.secret = 'roasted';
  else if (findTlv(list.tlvs, Tag.MD5_HASH)) result.secret = 'md5';
  if (list.error !== undefined) result.error = list.error;
  return result;
}

export interface AuthReply {
  tlvs: Tlv[];
  screenName?: string;
  /** The BOS (or service) server, "host[:port]", and the TLV that carries it. */
  address?: string;
  addressTlv?: Tlv;
  cookie?: Uint8Array;
  errorCode?: number;
  /** Why the server ends a BOS session (channel 4 TLV 9: 1 = signed on elsewhere). */
  disconnectReason?: number;
  error?: string;
}

/** An authorizer reply (channel 4 or 0x17/0x03), a service redirect (0x01/0x05), or a BOS sign-off. */
export function readAuthReply(raw: Uint8Array, start: number): AuthReply {
  const list = readTlvs(raw, start, raw.length);
  const reply: AuthReply = { tlvs: list.tlvs };
  const name = tlvBytes(raw, list.tlvs, Tag.SCREEN_NAME);
  if (name !== undefined && name.length > 0) reply.screenName = decodeName(name);
  const address = findTlv(list.tlvs, Tag.SERVER_ADDRESS);
  if (address !== undefined) {
    reply.address = latin1(raw.subarray(address.valueStart, address.valueEnd));
    reply.addressTlv = address;
  }
  const cookie = tlvBytes(raw, list.tlvs, Tag.COOKIE);
  if (cookie !== undefined) reply.cookie = cookie;
  const code = numberOf(raw, list.tlvs, Tag.ERROR_CODE);
  if (code !== undefined) reply.errorCode = code;
  const reason = numberOf(raw, list.tlvs, Tag.DISCONNECT_REASON);
  if (reason !== undefined) reply.disconnectReason = reason;
  if (list.error !== undefined) reply.error = list.error;
  return reply;
}

/** "host[:port]" (port 5190 when absent) as an endpoint; undefined when it is not one. */
export function parseServerAddress(text: string): { host: string; port: number } | undefined {
  const m = /^(\[[^\]]+\]|[^:\s[\]]+)(?::(\d{1,5}))?$/.exec(text.trim());
  if (!m) return undefined;
  const port = m[2] === undefined ? 5190 : Number(m[2]);
  if (port < 1 || port > 65535) return undefined;
  return { host: m[1]!.replace(/^\[(.*)\]$/, '$1'), port };
}

export function formatServerAddress(endpoint: { host: string; port: number }): string {
  return endpoint.host.includes(':') ? `[${endpoint.host}]:${endpoint.port}` : `${endpoint.host}:${endpoint.port}`;
}
