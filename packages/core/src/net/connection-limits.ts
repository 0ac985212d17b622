/**
 * Connection limits: how many connections imspect relays at once (in all, and per client address), and how long
 * a new connection may stay silent. Without them one client could hold every file descriptor of the process with
 * idle connections, and then the journal, the archive and every other client failed with EMFILE.
 *
 * A connection holds its slot from the accept until its client socket and its upstream socket (also one still
 * connecting) are all closed, so the descriptors counted are the ones really open.
 *
 * Relay threads of one gateway each have their own limits; given the same `SharedCounts` (shared-counts.ts), they
 * count every connection of the process together, so `maxConnections` and `maxPerClient` hold for the gateway.
 */
import { closeSync, openSync, readFileSync } from 'node:fs';
import type net from 'node:net';
import type { PluginLogger } from '@imspect/sdk';
import type { SharedCounts } from './shared-counts.js';

export interface ConnectionLimitSettings {
  /** `'auto'`: from the open-file limit (see {@link connectionBudget}). */
  maxConnections: 'auto' | number;
  /** 0 = no limit. */
  maxPerClient: number;
  /** Forward and transparent listeners: a client that has sent nothing by then is closed. */
  handshakeTimeoutMs: number;
}

/** Descriptors kept for everything that is not a relayed socket: at least this many... */
export const MIN_RESERVED_DESCRIPTORS = 128;
/** ...or this share of the limit, whichever is more (CSV logs keep up to `maxOpenFiles` files open). */
const RESERVED_SHARE = 0.25;
/** Used when the open-file limit cannot be read (not Linux): a common default soft limit. */
const FALLBACK_DESCRIPTOR_LIMIT = 1024;
/** Refusals of one kind are logged at once, then summed up at most once per this period. */
const REFUSAL_LOG_PERIOD_MS = 10_000;
/** After an EMFILE/ENFILE, new connections are dropped at accept for this long, without any further work. */
const SHED_AFTER_EXHAUSTION_MS = 1_000;

/** `15 s`, `2 h`, `1500 ms`: durations for people. */
export function formatDuration(ms: number): string {
  if (ms >= 3600_000 && ms % 3600_000 === 0) return `${ms / 3600_000} h`;
  if (ms >= 60_000 && ms % 60_000 === 0) return `${ms / 60_000} min`;
  if (ms >= 1000 && ms % 1000 === 0) return `${ms / 1000} s`;
  return `${ms} ms`;
}

/** The soft open-file limit of this process (`ulimit -n`), from /proc/self/limits; undefined when unknown or unlimited. */
export function descriptorLimit(limitsFile = '/proc/self/limits'): number | undefined {
  let text: string;
  try {
    text = readFileSync(limitsFile, 'utf8');
  } catch {
    return undefined;
  }
  const match = /^Max open files\s+(\S+)/m.exec(text);
  const soft = match ? Number(match[1]) : NaN;
  return Number.isSafeInteger(soft) && soft > 0 ? soft : undefined;
}

export interface ConnectionBudget {
  maxConnections: number;
  /** How it was chosen, for the start banner and the log. */
  source: string;
}

/**
 * `maxConnections` as configured, or for `'auto'`: each relayed connection uses two descriptors (client and
 * upstream), out of what the open-file limit leaves after the reserve for the journal, the archive, log and CSV
 * files and Node itself.
 */
export function connectionBudget(setting: 'auto' | number, limit = descriptorLimit()): ConnectionBudget {
  if (setting !== 'auto') return { maxConnections: setting, source: 'configured' };
  const known = limit !== undefined;
  const descriptors = limit ?? FALLBACK_DESCRIPTOR_LIMIT;
  const reserved = Math.max(MIN_RESERVED_DESCRIPTORS, Math.ceil(descriptors * RESERVED_SHARE));
  const maxConnections = Math.max(1, Math.floor((descriptors - reserved) / 2));
  return { maxConnections, source: `auto: ${known ? '' : 'assumed '}open-file limit ${descriptors}, ${reserved} reserved` };
}

export interface ConnectionLimitOptions {
  /**
   * Counts shared with the other relay threads of this gateway: `maxConnections` and `maxPerClient` then hold
   * for all of them together (each thread's limits admit and release through them).
   */
  shared?: SharedCounts;
}

function totalRefusal(open: number, max: number, where = ''): string {
  return `${open} connections open${where}, the most allowed (connections.maxConnections ${max})`;
}

function clientRefusal(open: number, where = ''): string {
  return `this address has ${open} connections open${where}, the most allowed per client (connections.maxPerClient)`;
}

/** One admitted connection: what it keeps open. */
interface Slot {
  limits: ConnectionLimits;
  ip: string;
  clientOpen: boolean;
  /** Upstream sockets connecting or open. */
  upstreams: number;
  /** Upstream connects not settled yet (the client socket is not read meanwhile). */
  connecting: number;
  /** The handshake-time check of a client that has no proxy handshake. */
  timer?: NodeJS.Timeout | undefined;
}

/** The slot of each admitted client socket, for {@link holdWhileConnecting} and {@link clientClosed}. */
const slots = new WeakMap<net.Socket, Slot>();

/**
 * The slot an upstream socket holds. The close listeners are shared (an emitter calls them with `this` set to
 * itself) rather than closures per connection: thousands of idle connections would each keep theirs.
 */
const UPSTREAM_SLOT = Symbol('imspect.connectionLimits.slot');

interface SlotSocket extends net.Socket {
  [UPSTREAM_SLOT]?: Slot;
}

// Listened with `on`, not `once` (whose wrapper is two more objects per socket): each acts on the first close only.
function clientClosed(this: net.Socket): void {
  const slot = slots.get(this);
  if (!slot?.clientOpen) return;
  clearTimeout(slot.timer);
  slot.timer = undefined;
  slot.clientOpen = false;
  slot.limits.sockets--;
  slot.limits.releaseIfDone(slot);
}

function upstreamDone(slot: Slot): void {
  slot.upstreams--;
  slot.limits.sockets--;
  slot.limits.releaseIfDone(slot);
}

function upstreamClosed(this: SlotSocket): void {
  const slot = this[UPSTREAM_SLOT];
  if (!slot) return;
  this[UPSTREAM_SLOT] = undefined;
  upstreamDone(slot);
}

/**
 * Counts `connecting` (and then the upstream socket it opens) against the slot of the client socket it is for, so
 * a client that gives up while its upstream connect is pending does not free a slot whose descriptor is still
 * in use. A client socket that was not admitted through limits is left alone.
 */
export function holdWhileConnecting(client: net.Socket, connecting: Promise<net.Socket>): void {
  const slot = slots.get(client);
  if (!slot) return;
  slot.upstreams++;
  slot.connecting++;
  slot.limits.sockets++;
  connecting.then(
    (upstream: SlotSocket) => {
      slot.connecting--;
      if (upstream.closed) upstreamDone(slot);
      else {
        upstream[UPSTREAM_SLOT] = slot;
        upstream.on('close', upstreamClosed);
      }
    },
    (error: NodeJS.ErrnoException) => {
      slot.connecting--;
      if (error.code === 'EMFILE' || error.code === 'ENFILE') slot.limits.descriptorsExhausted(error.code, 'upstream connect');
      upstreamDone(slot);
    },
  );
}

/** Logs the first event of a kind at once, then at most one summary per period: no log flood under attack. */
class RateLimitedWarning {
  private suppressed = 0;
  private timer: NodeJS.Timeout | undefined;
  private lastDetail: Record<string, unknown> = {};

  constructor(
    private readonly log: PluginLogger,
    private readonly what: string,
  ) {}

  report(detail: Record<string, unknown>, message: string): void {
    if (this.timer) {
      this.suppressed++;
      this.lastDetail = detail;
      return;
    }
    this.log.warn(detail, message);
    this.startPeriod();
  }

  private startPeriod(): void {
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.suppressed === 0) return;
      const count = this.suppressed;
      this.suppressed = 0;
      this.log.warn({ ...this.lastDetail, count }, `${count} more ${this.what} in the last ${REFUSAL_LOG_PERIOD_MS / 1000} s`);
      this.startPeriod();
    }, REFUSAL_LOG_PERIOD_MS);
    this.timer.unref();
  }

  close(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}

export class ConnectionLimits {
  readonly maxConnections: number;
  readonly maxPerClient: number;
  readonly handshakeTimeoutMs: number;
  readonly budgetSource: string;
  /** Connections holding a slot (accepted and not yet fully closed): this instance's. */
  active = 0;
  /** Sockets of those connections that are open: clients, and upstreams connecting or connected. */
  sockets = 0;
  /** Connections refused over a limit since start. */
  refused = 0;
  private readonly perClient = new Map<string, number>();
  private shedUntil = 0;
  /**
   * A descriptor held in reserve (on /dev/null), given up when an accept fails with EMFILE so that the pending
   * connections can be accepted and dropped (see {@link acceptFailed}); taken again after the shedding period.
   */
  private reserve: number | undefined;
  private reserveTimer: NodeJS.Timeout | undefined;
  private readonly refusals: RateLimitedWarning;
  private readonly silent: RateLimitedWarning;
  private readonly exhaustion: RateLimitedWarning;
  private readonly shared: SharedCounts | undefined;
  private readonly log: PluginLogger;
  private overflowReported = false;

  constructor(
    settings: ConnectionLimitSettings,
    log: PluginLogger,
    limit?: number,
    /** The clock that times the shedding after an exhaustion (tests hold it still, so a slow machine cannot end it early). */
    private readonly now: () => number = Date.now,
    options: ConnectionLimitOptions = {},
  ) {
    this.shared = options.shared;
    this.log = log;
    const budget = connectionBudget(settings.maxConnections, limit ?? descriptorLimit());
    this.maxConnections = budget.maxConnections;
    this.budgetSource = budget.source;
    this.maxPerClient = settings.maxPerClient;
    this.handshakeTimeoutMs = settings.handshakeTimeoutMs;
    this.refusals = new RateLimitedWarning(log, 'connections refused over a connection limit');
    this.silent = new RateLimitedWarning(log, 'connections closed for sending nothing within the handshake time');
    this.exhaustion = new RateLimitedWarning(log, 'descriptor exhaustions (EMFILE/ENFILE)');
    this.takeReserve();
  }

  /** True while a descriptor is held in reserve (for tests and status). */
  get holdsReserve(): boolean {
    return this.reserve !== undefined;
  }

  private takeReserve(): void {
    clearTimeout(this.reserveTimer);
    this.reserveTimer = undefined;
    if (this.reserve !== undefined) return;
    try {
      this.reserve = openSync('/dev/null', 'r');
    } catch {
      // Still out of descriptors (or no /dev/null): try again later.
      this.reserveTimer = setTimeout(() => this.takeReserve(), SHED_AFTER_EXHAUSTION_MS);
      this.reserveTimer.unref();
    }
  }

  private releaseReserve(): void {
    if (this.reserve === undefined) return;
    try {
      closeSync(this.reserve);
    } catch {
      // already closed
    }
    this.reserve = undefined;
    clearTimeout(this.reserveTimer);
    this.reserveTimer = setTimeout(() => this.takeReserve(), SHED_AFTER_EXHAUSTION_MS);
    this.reserveTimer.unref();
  }

  /**
   * Called first for every accepted socket: while shedding after descriptor exhaustion it is destroyed at once
   * (synchronously, so its descriptor is free for the next pending accept) and true returned.
   */
  dropIfExhausted(socket: net.Socket, listener: string): boolean {
    if (this.now() >= this.shedUntil) return false;
    this.refused++;
    socket.destroy();
    this.refusals.report({ listener }, `connection refused on ${listener}: file descriptors exhausted a moment ago (EMFILE/ENFILE)`);
    return true;
  }

  /** Connections holding a slot in every thread sharing these limits' counts (without shared counts: {@link active}). */
  get activeInAll(): number {
    return this.shared ? this.shared.total : this.active;
  }

  /** One line for the start banner. */
  describe(): string {
    return `${this.maxConnections} connections (${this.budgetSource}), ${this.maxPerClient === 0 ? 'no limit' : this.maxPerClient} per client${this.shared ? ', counted across relay threads' : ''}, handshake ${formatDuration(this.handshakeTimeoutMs)}`;
  }

  /**
   * A client socket was accepted (and allowed by the listener's allow list). Over a limit it is destroyed at
   * once, the refusal logged (rate-limited), and false returned. Otherwise it holds a slot until closed; with
   * `firstBytes` (forward and transparent listeners, which have no proxy handshake) it is closed when it has sent
   * nothing within the handshake time.
   */
  admit(socket: net.Socket, ip: string, listener: string, options: { firstBytes: boolean }): boolean {
    const refusal = this.take(ip);
    if (refusal) {
      this.refused++;
      socket.destroy();
      const detail = { listener, client: ip, active: this.active, sockets: this.sockets, ...(this.shared ? { activeInAll: this.shared.total } : {}) };
      this.refusals.report(detail, `connection from ${ip} refused on ${listener}: ${refusal}`);
      return false;
    }
    const slot: Slot = { limits: this, ip, clientOpen: true, upstreams: 0, connecting: 0 };
    slots.set(socket, slot);
    this.active++;
    this.sockets++;
    if (options.firstBytes) {
      const check = () => {
        // bytesRead counts what was read from the socket, also while a relay or router holds it.
        if (socket.destroyed || socket.bytesRead > 0) return;
        // The socket is not read while its upstream connect is pending (connectTimeoutMs may be the longer): ask
        // again later rather than cut a client whose bytes wait unread.
        if (slot.connecting > 0) {
          slot.timer = setTimeout(check, this.handshakeTimeoutMs);
          return;
        }
        this.silent.report({ listener, client: ip }, `connection from ${ip} on ${listener} closed: it sent nothing within ${this.handshakeTimeoutMs} ms`);
        socket.destroy();
      };
      slot.timer = setTimeout(check, this.handshakeTimeoutMs);
    }
    socket.on('close', clientClosed);
    return true;
  }

  /** Counts a connection from `ip` in; over a limit, why not. */
  private take(ip: string): string | undefined {
    if (this.now() < this.shedUntil) return 'file descriptors exhausted a moment ago (EMFILE/ENFILE)';
    if (this.shared) return this.takeShared(this.shared, ip);
    if (this.active >= this.maxConnections) return totalRefusal(this.active, this.maxConnections);
    const mine = this.perClient.get(ip) ?? 0;
    if (this.maxPerClient > 0 && mine >= this.maxPerClient) return clientRefusal(mine);
    this.perClient.set(ip, mine + 1);
    return undefined;
  }

  private takeShared(shared: SharedCounts, ip: string): string | undefined {
    const overflowed = shared.overflowed;
    const result = shared.tryAcquire(ip, this.maxConnections, this.maxPerClient);
    if (result === 'total') return totalRefusal(shared.total, this.maxConnections, ' in all relay threads');
    if (result === 'client') return clientRefusal(shared.clientCount(ip), ' in all relay threads');
    if (shared.overflowed > overflowed && !this.overflowReported) {
      this.overflowReported = true;
      this.log.warn(
        { client: ip, slots: shared.slots },
        `connection from ${ip} counted against connections.maxPerClient in this relay thread only: no room in the table of client addresses shared by the relay threads, or its lock held too long (logged once)`,
      );
    }
    return undefined;
  }

  /** @internal Frees the slot once nothing of the connection is open any more. */
  releaseIfDone(slot: Slot): void {
    if (slot.clientOpen || slot.upstreams > 0) return;
    this.active--;
    if (this.shared) {
      this.shared.release(slot.ip);
      return;
    }
    const left = (this.perClient.get(slot.ip) ?? 1) - 1;
    if (left > 0) this.perClient.set(slot.ip, left);
    else this.perClient.delete(slot.ip);
  }

  /**
   * The process ran out of descriptors (an accept or a connect failed with EMFILE/ENFILE): new connections are
   * dropped at accept for a moment, so that a client retrying at once costs no upstream connect and no log
   * line, and the condition is logged (rate-limited).
   */
  descriptorsExhausted(code: string, where: string): void {
    this.shedUntil = this.now() + SHED_AFTER_EXHAUSTION_MS;
    this.exhaustion.report(
      { code, where, active: this.active, sockets: this.sockets },
      `out of file descriptors (${code}) at ${where}: new connections are refused for ${SHED_AFTER_EXHAUSTION_MS} ms; lower connections.maxConnections or raise the open-file limit (ulimit -n)`,
    );
  }

  /**
   * A listening server reported an error: descriptor exhaustion is handled (true); anything else is the
   * caller's to log. libuv already accepts and closes the pending connections when the process is out of
   * descriptors (its reserved descriptor), so the server keeps no backlog to spin on.
   */
  acceptFailed(error: NodeJS.ErrnoException, listener: string): boolean {
    if (error.code !== 'EMFILE' && error.code !== 'ENFILE') return false;
    this.descriptorsExhausted(error.code, `accept on ${listener}`);
    // libuv reports EMFILE only when its own reserved descriptor is gone, and then retries the accept at once, in
    // a loop that does not return while connections are pending: the CPU spin seen under a flood. Giving up our
    // reserve lets those accepts succeed; each socket is dropped at once (dropIfExhausted), freeing the
    // descriptor for the next, until the backlog is empty.
    this.releaseReserve();
    return true;
  }

  close(): void {
    clearTimeout(this.reserveTimer);
    this.reserveTimer = undefined;
    if (this.reserve !== undefined) {
      try {
        closeSync(this.reserve);
      } catch {
        // already closed
      }
      this.reserve = undefined;
    }
    this.refusals.close();
    this.silent.close();
    this.exhaustion.close();
  }
}
