/**
 * Builders for synthetic capture files, written from the format specifications (libpcap's pcap(5) and the
 * pcapng draft, RFC 791/8200/9293 for the headers), independently of the reader under test.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
export const text = (b: Uint8Array): string => new TextDecoder().decode(b);

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

function u16(v: number, le: boolean): Uint8Array {
  const b = new Uint8Array(2);
  new DataView(b.buffer).setUint16(0, v, le);
  return b;
}
function u32(v: number, le: boolean): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, v >>> 0, le);
  return b;
}
function u64(v: bigint, le: boolean): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt.asUintN(64, v), le);
  return b;
}

// ---------------------------------------------------------------- files

let dir: string | undefined;
/** Writes bytes to a fresh temporary file and returns its path. */
export function writeTemp(name: string, bytes: Uint8Array): string {
  dir ??= mkdtempSync(join(tmpdir(), 'imspect-capture-'));
  const path = join(dir, name);
  writeFileSync(path, bytes);
  return path;
}

export function removeTemp(): void {
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
}

export interface PcapRecord {
  /** Seconds and the sub-second part in the file's unit (µs or ns). */
  seconds: number;
  fraction: number;
  data: Uint8Array;
  originalLength?: number;
}

export function pcapFile(opts: { littleEndian?: boolean; nanos?: boolean; linkType: number; major?: number }, records: PcapRecord[]): Uint8Array {
  const le = opts.littleEndian ?? true;
  const magic = opts.nanos ? 0xa1b23c4d : 0xa1b2c3d4;
  const header = concat(u32(magic, le), u16(opts.major ?? 2, le), u16(4, le), u32(0, le), u32(0, le), u32(262144, le), u32(opts.linkType, le));
  return concat(header, ...records.map((r) => concat(u32(r.seconds, le), u32(r.fraction, le), u32(r.data.byteLength, le), u32(r.originalLength ?? r.data.byteLength, le), r.data)));
}

/** One pcapng block: type, total length, body padded to 4 bytes, total length again. */
export function block(type: number, body: Uint8Array, le: boolean, lengthOverride?: number, trailerOverride?: number): Uint8Array {
  const padded = concat(body, new Uint8Array((4 - (body.byteLength % 4)) % 4));
  const total = padded.byteLength + 12;
  return concat(u32(type, le), u32(lengthOverride ?? total, le), padded, u32(trailerOverride ?? total, le));
}

function option(code: number, value: Uint8Array, le: boolean): Uint8Array {
  return concat(u16(code, le), u16(value.byteLength, le), value, new Uint8Array((4 - (value.byteLength % 4)) % 4));
}

export function shb(le: boolean, major = 1): Uint8Array {
  return block(0x0a0d0d0a, concat(u32(0x1a2b3c4d, le), u16(major, le), u16(0, le), u64(-1n, le)), le);
}

export interface IdbOptions {
  linkType: number;
  snapLength?: number;
  /** Raw if_tsresol byte. */
  tsresol?: number;
  /** if_tsoffset, seconds. */
  tsoffset?: bigint;
  name?: string;
}

export function idb(le: boolean, o: IdbOptions): Uint8Array {
  const opts: Uint8Array[] = [];
  if (o.name !== undefined) opts.push(option(2, enc(o.name), le));
  if (o.tsresol !== undefined) opts.push(option(9, Uint8Array.of(o.tsresol), le));
  if (o.tsoffset !== undefined) opts.push(option(14, u64(o.tsoffset, le), le));
  if (opts.length > 0) opts.push(option(0, new Uint8Array(0), le));
  return block(1, concat(u16(o.linkType, le), u16(0, le), u32(o.snapLength ?? 0, le), ...opts), le);
}

/** Enhanced packet block; `ticks` in the interface's timestamp unit. */
export function epb(le: boolean, interfaceId: number, ticks: bigint, data: Uint8Array, originalLength = data.byteLength): Uint8Array {
  const high = Number(ticks >> 32n);
  const low = Number(ticks & 0xffffffffn);
  return block(6, concat(u32(interfaceId, le), u32(high, le), u32(low, le), u32(data.byteLength, le), u32(originalLength, le), data), le);
}

export function spb(le: boolean, data: Uint8Array, originalLength = data.byteLength): Uint8Array {
  return block(3, concat(u32(originalLength, le), data), le);
}

/** The obsolete Packet Block (type 2) some old writers still produce. */
export function opb(le: boolean, interfaceId: number, ticks: bigint, data: Uint8Array): Uint8Array {
  const high = Number(ticks >> 32n);
  const low = Number(ticks & 0xffffffffn);
  return block(2, concat(u16(interfaceId, le), u16(0, le), u32(high, le), u32(low, le), u32(data.byteLength, le), u32(data.byteLength, le), data), le);
}

// ---------------------------------------------------------------- headers

function addr4(a: string): Uint8Array {
  return Uint8Array.from(a.split('.').map(Number));
}

function addr6(a: string): Uint8Array {
  const [head, tail] = a.includes('::') ? a.split('::') : [a, undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  return concat(...groups.map((g) => u16(parseInt(g, 16), false)));
}

export type Flags = string; // letters: S A F R P

export function tcpHeader(o: { sport: number; dport: number; seq: number; ack?: number; flags: Flags; payload?: Uint8Array; dataOffsetWords?: number }): Uint8Array {
  let f = 0;
  if (o.flags.includes('F')) f |= 0x01;
  if (o.flags.includes('S')) f |= 0x02;
  if (o.flags.includes('R')) f |= 0x04;
  if (o.flags.includes('P')) f |= 0x08;
  if (o.flags.includes('A')) f |= 0x10;
  const h = concat(
    u16(o.sport, false),
    u16(o.dport, false),
    u32(o.seq, false),
    u32(o.ack ?? 0, false),
    Uint8Array.of((o.dataOffsetWords ?? 5) << 4, f),
    u16(65535, false),
    u16(0, false), // checksum: never checked
    u16(0, false),
  );
  return concat(h, o.payload ?? new Uint8Array(0));
}

export function ipv4(src: string, dst: string, protocol: number, payload: Uint8Array, o: { flagsFragment?: number; totalLength?: number } = {}): Uint8Array {
  return concat(
    Uint8Array.of(0x45, 0),
    u16(o.totalLength ?? 20 + payload.byteLength, false),
    u16(0x1234, false),
    u16(o.flagsFragment ?? 0x4000, false), // DF
    Uint8Array.of(64, protocol),
    u16(0, false),
    addr4(src),
    addr4(dst),
    payload,
  );
}

/** `ext`: extension headers as [type, body] where the body excludes next-header and length bytes. */
export function ipv6(src: string, dst: string, protocol: number, payload: Uint8Array, ext: Array<[number, Uint8Array]> = []): Uint8Array {
  const types = [...ext.map(([t]) => t), protocol];
  const exts = ext.map(([, body], i) => {
    const type = ext[i]![0];
    if (type === 44) return concat(Uint8Array.of(types[i + 1]!, 0), body); // fragment: fixed 8 bytes
    if (type === 51) return concat(Uint8Array.of(types[i + 1]!, (body.byteLength + 2) / 4 - 2), body); // AH: 4-byte units
    const len = (body.byteLength + 2) / 8 - 1;
    return concat(Uint8Array.of(types[i + 1]!, len), body);
  });
  const rest = concat(...exts, payload);
  return concat(Uint8Array.of(0x60, 0, 0, 0), u16(rest.byteLength, false), Uint8Array.of(types[0]!, 64), addr6(src), addr6(dst), rest);
}

export function ethernet(ethertype: number, payload: Uint8Array, vlans: Array<[tpid: number, vid: number]> = []): Uint8Array {
  const macs = Uint8Array.of(0, 1, 2, 3, 4, 5, 0, 6, 7, 8, 9, 10);
  const tags = vlans.map(([tpid, vid]) => concat(u16(tpid, false), u16(vid, false)));
  // Tags sit between the MACs and the real ethertype: TPID, TCI, ..., ethertype.
  return concat(macs, ...tags, u16(ethertype, false), payload);
}

export function sll(protocol: number, payload: Uint8Array): Uint8Array {
  return concat(u16(0, false), u16(1, false), u16(6, false), new Uint8Array(8), u16(protocol, false), payload);
}

export function sll2(protocol: number, payload: Uint8Array): Uint8Array {
  return concat(u16(protocol, false), u16(0, false), u32(2, false), u16(1, false), Uint8Array.of(0, 6), new Uint8Array(8), payload);
}

export function nullLink(family: number, payload: Uint8Array, le: boolean): Uint8Array {
  return concat(u32(family, le), payload);
}

export function loopLink(family: number, payload: Uint8Array): Uint8Array {
  return concat(u32(family, false), payload);
}

// ---------------------------------------------------------------- a TCP conversation

export interface Flow {
  client: [ip: string, port: number];
  server: [ip: string, port: number];
  v6?: boolean;
}

/** One TCP packet of a flow as an IP packet (no link layer). `from`: 'c' client or 's' server. */
export function flowPacket(flow: Flow, from: 'c' | 's', seq: number, ack: number, flags: Flags, payload = ''): Uint8Array {
  const [sip, sport] = from === 'c' ? flow.client : flow.server;
  const [dip, dport] = from === 'c' ? flow.server : flow.client;
  const tcp = tcpHeader({ sport, dport, seq, ack, flags, payload: enc(payload) });
  return flow.v6 ? ipv6(sip, dip, 6, tcp) : ipv4(sip, dip, 6, tcp);
}

/**
 * A small complete conversation: handshake, "hello\r\n" from the client, "welcome\r\n" from the server,
 * then FINs both ways. ISNs 1000 (client) and 5000 (server).
 */
export function conversation(flow: Flow): Uint8Array[] {
  return [
    flowPacket(flow, 'c', 1000, 0, 'S'),
    flowPacket(flow, 's', 5000, 1001, 'SA'),
    flowPacket(flow, 'c', 1001, 5001, 'A'),
    flowPacket(flow, 'c', 1001, 5001, 'PA', 'hello\r\n'),
    flowPacket(flow, 's', 5001, 1008, 'PA', 'welcome\r\n'),
    flowPacket(flow, 'c', 1008, 5010, 'FA'),
    flowPacket(flow, 's', 5010, 1009, 'FA'),
    flowPacket(flow, 'c', 1009, 5011, 'A'),
  ];
}
