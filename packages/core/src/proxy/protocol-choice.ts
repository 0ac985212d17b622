/**
 * Which protocol reads a connection, decided from what was seen so far: the port, the listener's setting, the
 * first bytes of either side, the end of a side, the end of the sniff time. No I/O, no timers, no logging: the
 * connection feeds what happened in and carries out the decision (it owns the sniff timer and the sockets), so
 * the choice can be tested with byte arrays alone.
 */
import type { Direction } from '@imspect/sdk';
import type { RegisteredProtocol } from './protocols.js';
import { connectTarget, httpRequestHead, isTlsClientHello, judgeFirstBytes, sniffOicqTcp, socks4Target, type OicqHeader, type UnreadableKind } from './unreadable.js';

/** Bytes held back while sniffing before giving up and relaying unparsed. */
export const MAX_SNIFF_BYTES = 4096;

/** What the protocol registry knows: ports and the protocols' own recognition of first bytes. */
export interface ProtocolClaims {
  /** Every loaded protocol. */
  readonly all: readonly RegisteredProtocol[];
  forPort(port: number): RegisteredProtocol | undefined;
  isTlsPort(port: number): RegisteredProtocol | undefined;
  /** The first protocol whose sniff recognises the bytes. */
  sniff(firstBytes: Uint8Array, direction: Direction): RegisteredProtocol | undefined;
  /** The protocol's own sniff recognises a client's bytes (a throwing or missing sniff does not). */
  claims(protocol: RegisteredProtocol, firstBytes: Uint8Array): boolean;
}

/** What is known of a connection before any byte is looked at. */
export interface ChoiceStart {
  port: number;
  /** The protocol the listener forces (loaded). */
  forced: RegisteredProtocol | undefined;
  /** Joined mid-way: the first bytes are not a first message. */
  midstream: boolean;
  /** 0: the first bytes are never waited for. */
  sniffTimeoutMs: number;
}

/** The bytes are still being looked at: `sniff` on a port that names no protocol, `probe` on one that does. */
export type Choosing = { kind: 'sniff' } | { kind: 'probe'; protocol: RegisteredProtocol };

/** What to do with the connection. */
export type ProtocolDecision =
  /** Nothing decided yet: keep the bytes, wait for more (or the end, or the time limit). */
  | { kind: 'wait' }
  /**
   * Parse with `protocol`. `ways`: how IM went around its ports, for the circumvention event (`odd-port`,
   * `http`, comma-separated; empty: none seen in the bytes, the client's proxy may still be one); undefined when
   * the protocol was taken without looking at the bytes (no circumvention event).
   */
  | { kind: 'parse'; protocol: RegisteredProtocol; ways?: string }
  /** Relay unparsed; `reason` is logged. */
  | { kind: 'raw'; reason: string }
  /** Recognised but unreadable: `policy.unreadable` says what happens (for `protocol`, a plugin's name or `qq`). */
  | { kind: 'unreadable'; what: UnreadableKind; protocol: string; reason: string; qq?: OicqHeader; tunnel?: { host: string; port: number } };

/** The first decision, from the port and the listener: at once, or by looking at the bytes (`Choosing`). */
export type StartDecision =
  /** The protocol runs inside TLS on this port from the first byte. */
  { kind: 'tls'; protocol: RegisteredProtocol } | Extract<ProtocolDecision, { kind: 'parse' } | { kind: 'raw' }> | Choosing;

/** What just happened while choosing, with every chunk each side sent so far (nothing is forwarded meanwhile). */
export interface Seen {
  port: number;
  /** A side's bytes arrived, a side ended, or the sniff time ran out. */
  latest: Direction | 'ended' | 'timeout';
  outgoing: readonly Uint8Array[];
  incoming: readonly Uint8Array[];
}

const WAIT: ProtocolDecision = Object.freeze({ kind: 'wait' });

/** Protocol by listener setting, then by TLS port, then by port (probed unless it cannot be), then sniffing. */
export function chooseAtStart(start: ChoiceStart, claims: ProtocolClaims): StartDecision {
  const { forced, port } = start;
  const tlsPortOf = claims.isTlsPort(port);
  const chosen = forced ?? claims.forPort(port);
  if (tlsPortOf && (!chosen || chosen === tlsPortOf)) return { kind: 'tls', protocol: tlsPortOf };
  if (forced) return { kind: 'parse', protocol: forced };
  if (chosen && (start.midstream || start.sniffTimeoutMs === 0)) return { kind: 'parse', protocol: chosen };
  if (chosen) return { kind: 'probe', protocol: chosen };
  if (start.sniffTimeoutMs > 0 && claims.all.length > 0) return { kind: 'sniff' };
  return { kind: 'raw', reason: 'no protocol for this port' };
}

/** The decision while `choosing`, after what `seen.latest` says happened. */
export function chooseProtocol(choosing: Choosing, seen: Seen, claims: ProtocolClaims): ProtocolDecision {
  const latest = seen.latest;
  if (latest === 'ended' || latest === 'timeout') {
    if (choosing.kind === 'probe') return { kind: 'parse', protocol: choosing.protocol, ways: '' };
    return { kind: 'raw', reason: latest === 'ended' ? 'stream ended before a protocol was recognised' : 'no protocol recognised the first bytes in time' };
  }
  const first = joined(seen[latest]);
  if (first.length === 0) return WAIT;
  return choosing.kind === 'probe' ? probe(choosing.protocol, first, latest, seen, claims) : sniff(first, latest, seen, claims);
}

/**
 * A port that names no protocol: the first protocol that recognises either side's bytes; other traffic the
 * client's first bytes show (TLS, HTTP, a proxy's request, QQ) is let go at once instead of waiting out the time.
 */
function sniff(first: Uint8Array, direction: Direction, seen: Seen, claims: ProtocolClaims): ProtocolDecision {
  const protocol = claims.sniff(first, direction);
  if (protocol) {
    // Recognised on a port that names no protocol: IM on an odd port (through a proxy or not), maybe inside HTTP.
    const outgoing = direction === 'outgoing' ? first : joined(seen.outgoing);
    // A whole request line (the head may still be arriving) that is HTTP's.
    const inHttp = outgoing.includes(0x0a) && httpRequestHead(outgoing) !== 'no';
    return { kind: 'parse', protocol, ways: inHttp ? 'odd-port,http' : 'odd-port' };
  }
  if (direction === 'outgoing') {
    const verdict = judgeFirstBytes(first);
    // A tunnel to an IM port through someone else's proxy: what goes inside cannot be read here.
    const via = verdict?.kind === 'not-im' ? verdict.what : undefined;
    const tunnel = via === 'http' ? connectTarget(first) : via === 'socks4' ? socks4Target(first) : undefined;
    const tunnelled = tunnel ? (claims.forPort(tunnel.port) ?? claims.isTlsPort(tunnel.port)) : undefined;
    if (tunnel && tunnelled) {
      const request = via === 'socks4' ? 'SOCKS4' : 'CONNECT';
      return {
        kind: 'unreadable',
        what: 'proxy',
        protocol: tunnelled.name,
        reason: `${tunnelled.name} through a proxy imspect does not run (${request} ${tunnel.host}:${tunnel.port})`,
        tunnel,
      };
    }
    if (verdict?.kind === 'not-im') return { kind: 'raw', reason: `${NOT_IM[verdict.what]}: not IM` };
    if (verdict?.kind === 'qq') {
      return { kind: 'unreadable', what: 'qq', protocol: 'qq', reason: `QQ (OICQ) on port ${seen.port}: recognised, not parsed`, qq: verdict.header };
    }
  }
  if (first.length >= MAX_SNIFF_BYTES) return { kind: 'raw', reason: 'no protocol recognised the first bytes' };
  return WAIT;
}

const NOT_IM = {
  tls: 'a TLS handshake (not intercepted)',
  http: 'an HTTP request no protocol claims',
  socks5: 'a SOCKS5 greeting (a proxy imspect does not run)',
  socks4: 'a SOCKS4 request (a proxy imspect does not run)',
};

/**
 * A port that names `protocol`: TLS, QQ and an HTTP request the protocol does not claim (on one of its own ports)
 * are unreadable; bytes another protocol recognises are parsed by it; anything else goes to the port's protocol.
 */
function probe(protocol: RegisteredProtocol, first: Uint8Array, direction: Direction, seen: Seen, claims: ProtocolClaims): ProtocolDecision {
  // The server spoke first: no TLS, HTTP or QQ client waits for that.
  if (direction === 'incoming') return { kind: 'parse', protocol, ways: '' };
  const port = seen.port;
  if (isTlsClientHello(first)) {
    return { kind: 'unreadable', what: 'tls', protocol: protocol.name, reason: `TLS on ${protocol.name}'s port ${port}: encrypted, not intercepted` };
  }
  const oicq = sniffOicqTcp(first);
  if (oicq !== undefined && oicq !== 'partial') {
    return { kind: 'unreadable', what: 'qq', protocol: 'qq', reason: `QQ (OICQ) on ${protocol.name}'s port ${port}: recognised, not parsed`, qq: oicq };
  }
  const http = httpRequestHead(first);
  const claimedBy = http !== 'partial' ? claims.sniff(first, direction) : undefined;
  if (claimedBy && claimedBy !== protocol && !claims.claims(protocol, first)) return { kind: 'parse', protocol: claimedBy, ways: 'odd-port' };
  if (http === 'complete' && !claimedBy && protocol.hooks.ports.includes(port)) {
    return { kind: 'unreadable', what: 'unknown', protocol: protocol.name, reason: `an HTTP request on ${protocol.name}'s port ${port}, not ${protocol.name}` };
  }
  const undecided = http === 'partial' || oicq === 'partial' || (first[0] === 0x16 && first.length < 6);
  if (!undecided || first.length >= MAX_SNIFF_BYTES) return { kind: 'parse', protocol, ways: http === 'complete' && claimedBy === protocol ? 'http' : '' };
  return WAIT;
}

function joined(chunks: readonly Uint8Array[]): Uint8Array {
  if (chunks.length === 1) return chunks[0]!;
  return Buffer.concat(chunks);
}
