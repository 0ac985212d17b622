/**
 * Login packets of every protocol version libgadu speaks, read for what the archive needs: the GG number, the
 * client and its version, the protocol version, the initial status and its description. The password hash is
 * skipped by offset and never read into anything.
 *
 * - GG_LOGIN (0x0c), GG_LOGIN_EXT (0x13), GG_LOGIN60 (0x15): uin, 32-bit hash, status, version (protocol number
 *   in the low byte, flags above), addresses; a NUL-terminated description may follow.
 * - GG_LOGIN70 (0x19): uin, hash type, 64-byte hash, status, version, addresses; description.
 * - GG_LOGIN80BETA (0x29), GG_LOGIN80 (0x31): uin, language, hash type, 64-byte hash, status, flags, features,
 *   addresses, image size, then a length-prefixed version string ("Gadu-Gadu Client build 8.0.0.10102") and a
 *   length-prefixed description.
 * - GG_LOGIN105 (0x83): protocol buffers: 1 language, 2 uin, 3 hash, 7 client ("GG-Phoenix/10.5..."),
 *   8 initial status, 9 description.
 */
import { utf8 } from '@imspect/sdk';
import { decodeCp1250 } from './cp1250.js';
import type { GgPacket } from './packet.js';
import { Out } from './packet-types.js';
import { decodeProtobuf, pbBytes, pbNumber, readPbUin } from './protobuf.js';

export interface LoginInfo {
  uin: string;
  /** The login packet's name, e.g. GG_LOGIN80. */
  packet: string;
  /** The client program and version, when the packet names them. */
  client?: string;
  version?: string;
  /** The protocol number of the older logins, as libgadu writes it (0x2a). */
  protocol?: number;
  status?: number;
  description?: string;
  error?: string;
}

const NAMES: Record<number, string> = {
  [Out.LOGIN]: 'GG_LOGIN',
  [Out.LOGIN_EXT]: 'GG_LOGIN_EXT',
  [Out.LOGIN60]: 'GG_LOGIN60',
  [Out.LOGIN70]: 'GG_LOGIN70',
  [Out.LOGIN80BETA]: 'GG_LOGIN80BETA',
  [Out.LOGIN80]: 'GG_LOGIN80',
  [Out.LOGIN105]: 'GG_LOGIN105',
};

export function isLoginType(type: number): boolean {
  return NAMES[type] !== undefined;
}

/** Where the fixed part of each older login ends and its version field lies. */
const FIXED: Record<number, { version: number; end: number }> = {
  [Out.LOGIN]: { version: 12, end: 22 },
  [Out.LOGIN_EXT]: { version: 12, end: 28 },
  [Out.LOGIN60]: { version: 12, end: 31 },
  [Out.LOGIN70]: { version: 73, end: 92 },
};

/** "Gadu-Gadu Client build 8.0.0.10102" or "GG-Phoenix/10.5.2.13164 (...)" -> program and version. */
export function splitClient(text: string): { client?: string; version?: string } {
  const trimmed = text.trim();
  const match = /^(.*?)[\s/]+(?:build\s+)?v?(\d+(?:\.\d+)+)/i.exec(trimmed);
  if (match === null) return trimmed === '' ? {} : { client: trimmed };
  const client = match[1]!.replace(/\s+build$/i, '').trim();
  return client === '' ? { version: match[2]! } : { client, version: match[2]! };
}

export function decodeLogin(packet: GgPacket): LoginInfo | undefined {
  const name = NAMES[packet.type];
  if (name === undefined) return undefined;
  if (packet.type === Out.LOGIN105) return decodeLogin105(packet, name);
  const uin = packet.uin(0);
  if (uin === undefined) return undefined;
  const info: LoginInfo = { uin, packet: name };
  const fixed = FIXED[packet.type];
  if (fixed !== undefined) {
    const version = packet.u32(fixed.version);
    const status = packet.u32(fixed.version - 4);
    if (version === undefined || status === undefined) return { ...info, error: `${name} shorter than its fixed part` };
    info.protocol = version & 0xff;
    info.status = status;
    if (packet.body.length > fixed.end) {
      const nul = packet.nul(fixed.end);
      const description = decodeCp1250(packet.bytes(fixed.end, nul));
      if (description !== '') info.description = description;
    }
    return info;
  }
  // GG_LOGIN80 and its beta: the version string and the description follow 97 bytes of fixed fields.
  const status = packet.u32(71);
  const versionLength = packet.u32(97);
  if (status === undefined || versionLength === undefined) return { ...info, error: `${name} shorter than its fixed part` };
  info.status = status;
  const versionEnd = 101 + versionLength;
  if (versionEnd > packet.body.length) return { ...info, error: `${name} version string past the end of the packet` };
  Object.assign(info, splitClient(utf8(packet.bytes(101, versionEnd)).replace(/\0+$/, '')));
  const descriptionLength = packet.u32(versionEnd);
  if (descriptionLength !== undefined && descriptionLength > 0) {
    const end = versionEnd + 4 + descriptionLength;
    if (end > packet.body.length) info.error = `${name} description past the end of the packet`;
    const description = utf8(packet.bytes(versionEnd + 4, end)).replace(/\0+$/, '');
    if (description !== '') info.description = description;
  }
  return info;
}

function decodeLogin105(packet: GgPacket, name: string): LoginInfo | undefined {
  const pb = decodeProtobuf(packet.body);
  const uin = readPbUin(pbBytes(packet.body, pb, 2));
  if (uin === undefined) return undefined;
  const info: LoginInfo = { uin, packet: name };
  const client = pbBytes(packet.body, pb, 7);
  if (client !== undefined) Object.assign(info, splitClient(utf8(client)));
  const status = pbNumber(pb, 8);
  if (status !== undefined) info.status = status;
  const description = pbBytes(packet.body, pb, 9);
  if (description !== undefined && description.length > 0) info.description = utf8(description);
  if (pb.error !== undefined) info.error = pb.error;
  return info;
}
