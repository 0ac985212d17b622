/**
 * Where a redirected connection was going before the firewall sent it to imspect: Linux netfilter keeps it in
 * the connection's conntrack entry and hands it out through `getsockopt(SO_ORIGINAL_DST)`. Node has no
 * getsockopt, so libc's is called through koffi (an FFI whose prebuilt binaries come in a package per platform).
 * koffi is an optional dependency, loaded only when a transparent listener starts: nothing else needs it, and an
 * installation without it (optional dependencies omitted, or no build for this platform) says what to install.
 */
import { createRequire } from 'node:module';
import type net from 'node:net';
import { isIPv4 } from 'node:net';
import { unmapIPv4 } from './allow-list.js';

const SOL_IP = 0;
const SOL_IPV6 = 41;
/** SO_ORIGINAL_DST (linux/netfilter_ipv4.h) and IP6T_SO_ORIGINAL_DST (linux/netfilter_ipv6/ip6_tables.h). */
const SO_ORIGINAL_DST = 80;
const AF_INET = 2;
const AF_INET6 = 10;
const SOCKADDR_IN_SIZE = 16;
const SOCKADDR_IN6_SIZE = 28;
/** errno: no conntrack entry, i.e. the connection was not tracked (netfilter off in this namespace). */
const ENOENT = 2;
const ENOPROTOOPT = 92;

export interface OriginalDestination {
  host: string;
  port: number;
  family: 'ipv4' | 'ipv6';
}

export type OriginalDestinationResult = { ok: true; destination: OriginalDestination } | { ok: false; reason: string; code: string };

type GetSockOpt = (fd: number, level: number, name: number, value: Buffer, length: [number]) => number;

export interface Libc {
  getsockopt: GetSockOpt;
  errno: () => number;
}

/** Loads a package by name (`require` relative to this module); replaceable in tests. */
export type ModuleLoader = (name: string) => unknown;

const requireHere: ModuleLoader = createRequire(import.meta.url);

let libc: Libc | Error | undefined;

/** libc's getsockopt through koffi loaded by `load`, or the reason it cannot be called (uncached). */
export function loadLibcWith(load: ModuleLoader): Libc | Error {
  if (process.platform !== 'linux') return new Error(`transparent interception needs Linux netfilter (this is ${process.platform})`);
  let koffi: { load(name: string): { func(signature: string): GetSockOpt }; errno(): number };
  try {
    koffi = load('koffi') as typeof koffi;
  } catch (error) {
    const e = error as NodeJS.ErrnoException;
    if (e.code === 'MODULE_NOT_FOUND' && e.message.includes("'koffi'")) {
      return new Error(
        'transparent interception reads the original destination through the "koffi" package, which is not installed ' +
          '(an optional dependency of @imspect/core): install it next to imspect (npm install koffi), or reinstall without omitting optional dependencies',
      );
    }
    return new Error(`cannot load koffi, which transparent interception needs to call getsockopt: ${e.message}`);
  }
  try {
    const lib = koffi.load('libc.so.6');
    return {
      getsockopt: lib.func('int getsockopt(int fd, int level, int name, _Out_ uint8_t *value, _Inout_ uint32_t *length)'),
      errno: () => koffi.errno(),
    };
  } catch (error) {
    return new Error(`cannot call getsockopt through koffi: ${(error as Error).message}`);
  }
}

function loadLibc(): Libc | Error {
  libc ??= loadLibcWith(requireHere);
  return libc;
}

/** Why original destinations cannot be read here (not Linux, koffi not loadable), or undefined when they can. */
export function originalDestinationUnsupported(): string | undefined {
  const lib = loadLibc();
  return lib instanceof Error ? lib.message : undefined;
}

/**
 * The file descriptor under a net.Socket. Node exposes no public accessor; its libuv TCP handle carries the
 * descriptor as `_handle.fd` on Unix, which is what a getsockopt needs. Undefined when the socket is closed.
 */
export function socketFd(socket: net.Socket): number | undefined {
  const fd = (socket as unknown as { _handle?: { fd?: unknown } })._handle?.fd;
  return typeof fd === 'number' && fd >= 0 ? fd : undefined;
}

/**
 * The destination the client asked for, before a REDIRECT/DNAT rule changed it. An IPv4 client on a dual-stack
 * socket (local address `::ffff:a.b.c.d`) was tracked as IPv4, so it is looked up at the IPv4 level.
 */
export function originalDestination(socket: net.Socket): OriginalDestinationResult {
  const lib = loadLibc();
  if (lib instanceof Error) return { ok: false, reason: lib.message, code: 'UNSUPPORTED' };
  const fd = socketFd(socket);
  if (fd === undefined) return { ok: false, reason: 'the socket has no file descriptor (already closed)', code: 'CLOSED' };
  const local = unmapIPv4(socket.localAddress ?? '');
  const v4 = isIPv4(local);
  const size = v4 ? SOCKADDR_IN_SIZE : SOCKADDR_IN6_SIZE;
  const buffer = Buffer.alloc(size);
  const length: [number] = [size];
  const rc = lib.getsockopt(fd, v4 ? SOL_IP : SOL_IPV6, SO_ORIGINAL_DST, buffer, length);
  if (rc !== 0) {
    const errno = lib.errno();
    if (errno === ENOENT) return { ok: false, reason: 'the connection is not tracked by netfilter (no NAT rule in this network namespace)', code: 'ENOENT' };
    if (errno === ENOPROTOOPT) return { ok: false, reason: 'the kernel does not support SO_ORIGINAL_DST (nf_conntrack not loaded)', code: 'ENOPROTOOPT' };
    return { ok: false, reason: `getsockopt(SO_ORIGINAL_DST) failed with errno ${errno}`, code: `ERRNO_${errno}` };
  }
  const destination = parseSockaddr(buffer.subarray(0, length[0]));
  if (!destination) return { ok: false, reason: 'getsockopt(SO_ORIGINAL_DST) returned an address of an unknown family', code: 'BAD_ADDRESS' };
  return { ok: true, destination };
}

/** A `struct sockaddr_in` or `struct sockaddr_in6` (family in host order, port in network order). */
export function parseSockaddr(bytes: Uint8Array): OriginalDestination | undefined {
  if (bytes.length < 8) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const family = view.getUint16(0, true);
  const port = view.getUint16(2, false);
  if (family === AF_INET) return { host: `${bytes[4]}.${bytes[5]}.${bytes[6]}.${bytes[7]}`, port, family: 'ipv4' };
  if (family === AF_INET6 && bytes.length >= 24) {
    const groups: string[] = [];
    for (let i = 0; i < 8; i++) groups.push(view.getUint16(8 + i * 2, false).toString(16));
    return { host: compressIPv6(groups), port, family: 'ipv6' };
  }
  return undefined;
}

/** RFC 5952 text: the longest run of two or more zero groups becomes `::`; IPv4-mapped addresses unmapped. */
function compressIPv6(groups: string[]): string {
  if (groups.slice(0, 5).every((g) => g === '0') && groups[5] === 'ffff') {
    const a = parseInt(groups[6]!, 16);
    const b = parseInt(groups[7]!, 16);
    return `${a >> 8}.${a & 0xff}.${b >> 8}.${b & 0xff}`;
  }
  let bestStart = -1;
  let bestLength = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLength && j - i >= 2) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  if (bestStart < 0) return groups.join(':');
  return `${groups.slice(0, bestStart).join(':')}::${groups.slice(bestStart + bestLength).join(':')}`;
}
