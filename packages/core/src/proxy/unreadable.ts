/**
 * Recognising traffic imspect does not parse, from a connection's first bytes: a TLS handshake, an HTTP request
 * (whole head), and classic QQ (OICQ). Used while sniffing a port that names no protocol (so that other traffic
 * is let go at once instead of waiting out the sniff time) and on IM ports (what the protocol there cannot read).
 * No I/O; every function looks at bytes only, never at host names (WeChat's HTTP to `*.qq.com` is not QQ).
 */
import { readU16BE, readU32BE } from '../capture/endian.js';

/** What a connection turned out to carry when no protocol plugin reads it. */
export type UnreadableKind =
  /** A TLS ClientHello that imspect does not intercept. */
  | 'tls'
  /** IM recognised (QQ) that no plugin parses. */
  | 'qq'
  /** Bytes the port's protocol does not recognise (HTTP to an IM port, anything else). */
  | 'unknown'
  /** A tunnel to an IM port through a proxy imspect does not run (an HTTP CONNECT seen on its way there). */
  | 'proxy';

/** `allow`: relayed, no event; `log`: relayed, one event; `block`: closed at once, one event marked blocked. */
export type UnreadableAction = 'allow' | 'log' | 'block';

/** `policy.unreadable`: one action for all, or one per protocol (plugin name, `qq`, `tls`, `unknown`) with a default. */
export type UnreadablePolicyConfig = UnreadableAction | ({ default?: UnreadableAction } & Record<string, UnreadableAction>);

/** The action for unreadable traffic of `protocol` (a plugin's name, or `qq`; else the kind: `tls`, `unknown`). */
export function unreadableAction(policy: UnreadablePolicyConfig | undefined, protocol: string | undefined, kind: UnreadableKind): UnreadableAction {
  if (policy === undefined) return 'log';
  if (typeof policy === 'string') return policy;
  return (protocol !== undefined ? policy[protocol] : undefined) ?? policy[kind] ?? policy.default ?? 'log';
}

/** A TLS record of type handshake (22), version 3.x, whose first message is a ClientHello (1). */
export function isTlsClientHello(bytes: Uint8Array): boolean {
  return bytes.length >= 6 && bytes[0] === 0x16 && bytes[1] === 0x03 && bytes[2]! <= 0x04 && bytes[5] === 0x01;
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** Longest request head waited for: beyond it, the bytes are judged as they are. */
const MAX_HEAD = 16 * 1024;

/**
 * The state of an HTTP request at the start of `bytes`: `complete` once the head's blank line is there (its body
 * is never waited for), `partial` while it may still become one, `no` when it cannot be a request.
 */
export function httpRequestHead(bytes: Uint8Array): 'complete' | 'partial' | 'no' {
  const limit = Math.min(bytes.length, MAX_HEAD);
  let lineEnd = -1;
  for (let i = 0; i < limit; i++) {
    if (bytes[i] === 0x0a) {
      lineEnd = i;
      break;
    }
  }
  const firstLine = latin1(bytes.subarray(0, lineEnd < 0 ? Math.min(limit, 256) : lineEnd)).replace(/\r$/, '');
  const [method, target, version, extra] = firstLine.split(' ');
  if (lineEnd < 0) {
    // A request line in progress: a method token, then a target, then the start of "HTTP/1.x".
    if (firstLine.length >= 256) return 'no';
    if (method === undefined || method === '' || !TOKEN.test(method)) return firstLine.length === 0 ? 'partial' : 'no';
    if (version !== undefined && !'HTTP/1.1'.startsWith(version.slice(0, 8)) && !/^HTTP\/1\.[01]/.test(version)) return 'no';
    return extra === undefined ? 'partial' : 'no';
  }
  if (method === undefined || !TOKEN.test(method) || !target || !version || !/^HTTP\/1\.[01]$/.test(version) || extra !== undefined) return 'no';
  for (let i = lineEnd + 1; i < limit; i++) {
    if (bytes[i] !== 0x0a) continue;
    // An empty line ends the head: "\n\n" or "\n\r\n".
    if (bytes[i - 1] === 0x0a || (bytes[i - 1] === 0x0d && bytes[i - 2] === 0x0a)) return 'complete';
  }
  return bytes.length >= MAX_HEAD ? 'no' : 'partial';
}

/**
 * The target of an HTTP CONNECT request at the start of `bytes` (a whole head), as a client sends it to a proxy:
 * `CONNECT host:port HTTP/1.x`. Undefined for anything else.
 */
export function connectTarget(bytes: Uint8Array): { host: string; port: number } | undefined {
  if (bytes.length < 8 || bytes[0] !== 0x43 /* C */ || httpRequestHead(bytes) !== 'complete') return undefined;
  let end = 0;
  while (end < bytes.length && end < 512 && bytes[end] !== 0x0a) end++;
  const match = /^CONNECT (\[[0-9A-Fa-f:.]+\]|[^\s:/]+):(\d{1,5}) HTTP\/1\.[01]\r?$/.exec(latin1(bytes.subarray(0, end)));
  if (!match) return undefined;
  const port = Number(match[2]);
  if (port < 1 || port > 65535) return undefined;
  return { host: match[1]!.replace(/^\[|\]$/g, ''), port };
}

/**
 * The target of a whole SOCKS4 or SOCKS4a CONNECT request at the start of `bytes` (version 4, command 1, port,
 * IPv4 address, a user id ended by a NUL byte; 4a: address 0.0.0.x and a host name ended by NUL). The client waits
 * for the proxy's answer after it. Undefined for anything else.
 */
export function socks4Target(bytes: Uint8Array): { host: string; port: number } | undefined {
  if (bytes.length < 9 || bytes[0] !== 4 || bytes[1] !== 1) return undefined;
  const port = readU16BE(bytes, 2);
  const userEnd = bytes.indexOf(0, 8);
  if (port === 0 || userEnd < 0 || userEnd > 8 + 255) return undefined;
  const a = bytes.subarray(4, 8);
  if (a[0] === 0 && a[1] === 0 && a[2] === 0 && a[3] !== 0) {
    const nameEnd = bytes.indexOf(0, userEnd + 1);
    if (nameEnd < 0 || nameEnd !== bytes.length - 1 || nameEnd === userEnd + 1) return undefined;
    return { host: latin1(bytes.subarray(userEnd + 1, nameEnd)), port };
  }
  if (userEnd !== bytes.length - 1) return undefined;
  return { host: `${a[0]}.${a[1]}.${a[2]}.${a[3]}`, port };
}

/** A classic QQ (OICQ) packet header: what nDPI and Wireshark's dissectors read. */
export interface OicqHeader {
  version: number;
  command: number;
  sequence: number;
  /** The QQ number, in a client's packets. */
  qqNumber: number;
}

const OICQ_START = 0x02;
const OICQ_END = 0x03;
/** Flag, version, command, sequence, QQ number, and the end byte. */
const OICQ_MIN = 1 + 2 + 2 + 2 + 4 + 1;

/** Known commands: 0x0001-0x00ff (login, logout, keep-alive, messages, ...) and 0x03f7. */
function knownCommand(command: number): boolean {
  return (command >= 0x0001 && command <= 0x00ff) || command === 0x03f7;
}

/**
 * One whole OICQ packet, as a UDP datagram carries it: flag 0x02, a client version, a known command, a sequence
 * number, the QQ number, ..., and 0x03 as the last byte. Undefined when it is not one.
 */
export function parseOicqPacket(packet: Uint8Array): OicqHeader | undefined {
  if (packet.length < OICQ_MIN || packet[0] !== OICQ_START || packet[packet.length - 1] !== OICQ_END) return undefined;
  const version = readU16BE(packet, 1);
  const command = readU16BE(packet, 3);
  if (version === 0 || !knownCommand(command)) return undefined;
  return { version, command, sequence: readU16BE(packet, 5), qqNumber: readU32BE(packet, 7) };
}

/**
 * OICQ over TCP: each packet behind a 16-bit big-endian length (counting the length itself, or not: clients
 * differ). `partial` while the first packet is not whole yet.
 */
export function sniffOicqTcp(bytes: Uint8Array): OicqHeader | 'partial' | undefined {
  if (bytes.length < 3) return bytes.length === 0 || bytes[0]! <= 0x40 ? 'partial' : undefined;
  if (bytes[2] !== OICQ_START) return undefined;
  const length = readU16BE(bytes, 0);
  if (length < OICQ_MIN || length > 0x4000) return undefined;
  // The length counts itself (the whole record is `length` bytes) or not (`length` + 2).
  const withSelf = length >= OICQ_MIN + 2 && bytes.length >= length ? parseOicqPacket(bytes.subarray(2, length)) : undefined;
  if (withSelf) return withSelf;
  if (bytes.length >= length + 2) return parseOicqPacket(bytes.subarray(2, length + 2));
  return bytes.length < length + 2 ? 'partial' : undefined;
}

/** What the first client bytes on a port that names no protocol say about it, before any plugin claims it. */
export type FirstBytesVerdict =
  /** Not IM: relay at once. */
  | { kind: 'not-im'; what: 'tls' | 'http' | 'socks5' | 'socks4' }
  | { kind: 'qq'; header: OicqHeader }
  /** Not decided yet: more bytes may tell. */
  | undefined;

/** Judges the client's first bytes: a TLS ClientHello or a whole HTTP request head is not IM; OICQ is QQ. */
export function judgeFirstBytes(bytes: Uint8Array): FirstBytesVerdict {
  if (isTlsClientHello(bytes)) return { kind: 'not-im', what: 'tls' };
  const qq = sniffOicqTcp(bytes);
  if (qq !== undefined && qq !== 'partial') return { kind: 'qq', header: qq };
  if (httpRequestHead(bytes) === 'complete') return { kind: 'not-im', what: 'http' };
  if (isSocks5Greeting(bytes)) return { kind: 'not-im', what: 'socks5' };
  if (socks4Target(bytes)) return { kind: 'not-im', what: 'socks4' };
  return undefined;
}

/**
 * A SOCKS5 client's greeting, whole and alone: version 5, a method count of 1-9, that many known methods (0-9,
 * private 0x80-0xfe). A client waits for the proxy's answer after it, so holding it would stall the client until
 * the sniff time runs out.
 */
export function isSocks5Greeting(bytes: Uint8Array): boolean {
  const count = bytes[1] ?? 0;
  if (bytes[0] !== 5 || count < 1 || count > 9 || bytes.length !== 2 + count) return false;
  for (let i = 2; i < bytes.length; i++) if (bytes[i]! > 0x09 && (bytes[i]! < 0x80 || bytes[i] === 0xff)) return false;
  return true;
}

function latin1(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i++) s += String.fromCharCode(b[i]!);
  return s;
}
