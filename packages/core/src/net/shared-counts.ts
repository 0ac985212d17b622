/**
 * Connection counts shared by the relay threads of one gateway. Each worker thread binds the same listeners
 * (`reusePort`) and has its own `ConnectionLimits`; with counts of its own, a client could hold
 * `threads x maxPerClient` connections and all of them together `threads x maxConnections`, while the
 * descriptors they use all belong to the one process. These counts live in a SharedArrayBuffer that the main
 * thread creates ({@link SharedCounts.create}) and hands to every worker ({@link SharedCounts.from}), so the
 * limits hold for the process as a whole.
 *
 * Layout (words in the platform's byte order; every thread of a process shares it):
 *
 *   header, 8 x int32:  magic | slot count (a power of two) | hash seed | total | insert lock | longest probe | 0 | 0
 *   controls, slots x int64 (from byte 32):  0 = never used; -1 = being (re)written; else version << 32 | count
 *   keys, slots x 4 x int32 (after the controls):  the client address as 16 bytes (IPv4 as ::ffff:a.b.c.d)
 *
 * The per-address counts are an open-addressing table with linear probing, keyed by the whole address, so two
 * clients never share a count. Counting up or down an address already in the table is lock-free: a
 * compare-and-exchange of its slot's control word, which checks the limit and bumps the count in one step.
 * Putting an address in the table takes the insert lock (an int32 taken by compare-and-exchange), so that two
 * threads never store one address twice. A slot is never emptied: one whose count fell to 0 keeps its address
 * (no tombstones; a probe stops only at a slot never used) and is taken over by the next new address on its
 * probe path, under the insert lock. Its version changes then, so a thread that read the old address and still
 * holds the old control word fails its compare-and-exchange instead of counting for the new address.
 *
 * The total and the address count are two words: {@link SharedCounts.tryAcquire} takes the total first and gives
 * it back when the address is refused, so for that moment the total reads one higher than what is held (another
 * thread may be refused at the boundary; no thread is ever admitted over a limit).
 *
 * Counted per thread instead (the total stays shared; the per-address limit then holds per thread): an address
 * when every slot holds a live address (only possible when `maxTotal` is at least the slot count) or when the
 * insert lock could not be taken within {@link LOCK_WAIT_MS} (a thread ended while holding it), both counted in
 * {@link SharedCounts.overflowed} so that it can be said; and text that is not an IP address (a socket already
 * closed has none), kept apart by its text. Nothing is ever refused for want of room.
 */
import { randomInt } from 'node:crypto';
import { isIP } from 'node:net';

export type AcquireResult = 'ok' | 'total' | 'client';

export interface SharedCountsOptions {
  /** Slots of the address table, rounded up to a power of two: more than the client addresses connected at once. */
  slots?: number;
}

export const DEFAULT_SLOTS = 65_536;
const MAX_SLOTS = 1 << 24;
const MAGIC = 0x494d_5343;
const HEADER_BYTES = 32;
const H_MAGIC = 0;
const H_SLOTS = 1;
const H_SEED = 2;
const H_TOTAL = 3;
const H_LOCK = 4;
const H_PROBE = 5;
const LOCKED = -1n;
const COUNT_MASK = 0xffff_ffffn;
/** Versions stay below 2^31 so that a control word stays a positive int64. */
const VERSION_LIMIT = 0x8000_0000;
/** How long a thread waits for the insert lock (held for a table scan at most) before counting on its own. */
export const LOCK_WAIT_MS = 200;
const SPINS_BEFORE_WAIT = 64;

const versionOf = (control: bigint) => Number(control >> 32n);
const countOf = (control: bigint) => Number(control & COUNT_MASK);
const controlWord = (version: number, count: number) => (BigInt(version) << 32n) | BigInt(count);

/**
 * Writes `text` as 16 address bytes (four int32 words, IPv4 as IPv4-mapped IPv6, so `1.2.3.4` and
 * `::ffff:1.2.3.4` are one client) into `out`; false when `text` is not an IP address. A zone id (`%eth0`) is
 * ignored: the address alone names the client, as in the rest of the limits.
 */
export function addressWords(text: string, out: Int32Array): boolean {
  const version = isIP(text);
  if (version === 4) {
    out[0] = 0;
    out[1] = 0;
    out[2] = 0xffff;
    out[3] = ipv4Word(text);
    return true;
  }
  if (version !== 6) return false;
  const address = text.split('%')[0]!;
  const groups: number[] = [];
  const half = address.indexOf('::');
  const head = half < 0 ? address : address.slice(0, half);
  const tail = half < 0 ? '' : address.slice(half + 2);
  const parse = (part: string) => {
    const out: number[] = [];
    if (part === '') return out;
    for (const group of part.split(':')) {
      if (group.includes('.')) {
        const word = ipv4Word(group);
        out.push(word >>> 16, word & 0xffff);
      } else out.push(parseInt(group, 16));
    }
    return out;
  };
  const before = parse(head);
  const after = parse(tail);
  groups.push(...before);
  for (let i = before.length + after.length; i < 8; i++) groups.push(0);
  groups.push(...after);
  for (let i = 0; i < 4; i++) out[i] = (groups[2 * i]! << 16) | groups[2 * i + 1]!;
  return true;
}

function ipv4Word(text: string): number {
  const [a, b, c, d] = text.split('.').map(Number) as [number, number, number, number];
  return (a << 24) | (b << 16) | (c << 8) | d;
}

/** The finaliser of MurmurHash3: every input bit moves every output bit. */
function mix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85eb_ca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2_ae35);
  return h ^ (h >>> 16);
}

export class SharedCounts {
  readonly buffer: SharedArrayBuffer;
  /** Slots of the address table. */
  readonly slots: number;
  /** Connections of an IP address this thread counted on its own since start, for want of a slot or of the lock. */
  overflowed = 0;
  private readonly header: Int32Array;
  private readonly controls: BigInt64Array;
  private readonly keys: Int32Array;
  private readonly mask: number;
  private readonly seed: number;
  /** Counts of this thread for what has no slot: `a:` + the address words, or `t:` + text that is no address. */
  private readonly local = new Map<string, number>();
  private readonly key = new Int32Array(4);

  /** A new buffer, for the main thread to hand to every relay thread. */
  static create(options: SharedCountsOptions = {}): SharedCounts {
    const wanted = options.slots ?? DEFAULT_SLOTS;
    if (!Number.isSafeInteger(wanted) || wanted < 1 || wanted > MAX_SLOTS) throw new RangeError(`shared counts: slots must be an integer from 1 to ${MAX_SLOTS}, not ${wanted}`);
    let slots = 1;
    while (slots < wanted) slots *= 2;
    const buffer = new SharedArrayBuffer(HEADER_BYTES + slots * 8 + slots * 16);
    const header = new Int32Array(buffer, 0, 8);
    header[H_SLOTS] = slots;
    header[H_SEED] = randomInt(0x7fff_ffff);
    Atomics.store(header, H_MAGIC, MAGIC);
    return new SharedCounts(buffer);
  }

  /** The counts in a buffer made by {@link create} (in another thread). */
  static from(buffer: SharedArrayBuffer): SharedCounts {
    return new SharedCounts(buffer);
  }

  constructor(buffer: SharedArrayBuffer) {
    if (!(buffer instanceof SharedArrayBuffer)) throw new TypeError('shared counts: a SharedArrayBuffer made by SharedCounts.create() is needed');
    const header = buffer.byteLength >= HEADER_BYTES ? new Int32Array(buffer, 0, 8) : undefined;
    const slots = header ? Atomics.load(header, H_SLOTS) : 0;
    if (!header || Atomics.load(header, H_MAGIC) !== MAGIC || buffer.byteLength !== HEADER_BYTES + slots * 24) {
      throw new TypeError('shared counts: the buffer was not made by SharedCounts.create()');
    }
    this.buffer = buffer;
    this.header = header;
    this.slots = slots;
    this.mask = slots - 1;
    this.seed = Atomics.load(header, H_SEED);
    this.controls = new BigInt64Array(buffer, HEADER_BYTES, slots);
    this.keys = new Int32Array(buffer, HEADER_BYTES + slots * 8, slots * 4);
  }

  /** Connections counted in all threads. */
  get total(): number {
    return Atomics.load(this.header, H_TOTAL);
  }

  /** Connections counted for `ip`: in all threads, plus those this thread counted on its own. */
  clientCount(ip: string): number {
    const key = this.key;
    if (!addressWords(ip, key)) return this.local.get(`t:${ip}`) ?? 0;
    const local = this.localCount(key);
    const found = this.find(this.hash(key), key, this.probes());
    return local + (found < 0 ? 0 : countOf(Atomics.load(this.controls, found)));
  }

  /**
   * Counts a connection from `ip` if the total stays at most `maxTotal` and the count of `ip` at most
   * `maxPerClient` (0: no limit per client): both counts go up, or neither (`'total'` or `'client'` says which
   * limit refused, the total checked first).
   */
  tryAcquire(ip: string, maxTotal: number, maxPerClient: number): AcquireResult {
    if (typeof maxTotal !== 'number' || Number.isNaN(maxTotal) || typeof maxPerClient !== 'number' || Number.isNaN(maxPerClient)) {
      throw new TypeError(`shared counts: the limits must be numbers, not ${maxTotal} and ${maxPerClient}`);
    }
    const header = this.header;
    for (;;) {
      const total = Atomics.load(header, H_TOTAL);
      if (total >= maxTotal) return 'total';
      if (Atomics.compareExchange(header, H_TOTAL, total, total + 1) === total) break;
    }
    const result = this.acquireClient(ip, maxPerClient > 0 ? maxPerClient : Number.POSITIVE_INFINITY);
    if (result !== 'ok') Atomics.sub(header, H_TOTAL, 1);
    return result;
  }

  /** Gives back a connection counted by {@link tryAcquire} (in this thread). One never counted is ignored. */
  release(ip: string): void {
    if (this.releaseClient(ip)) Atomics.sub(this.header, H_TOTAL, 1);
  }

  private acquireClient(ip: string, limit: number): AcquireResult {
    const key = this.key;
    if (!addressWords(ip, key)) return this.acquireLocal(`t:${ip}`, limit, false);
    // What this thread counted on its own for the address counts against its limit too.
    const local = this.localCount(key);
    if (local >= limit) return 'client';
    const hash = this.hash(key);
    const fast = this.increment(hash, key, limit - local, this.probes());
    if (fast !== undefined) return fast;
    if (!this.lock()) return this.acquireLocal(this.localKey(key), limit, true);
    try {
      // Every insertion happens under the lock, so the longest probe read now is final.
      const found = this.increment(hash, key, limit - local, this.probes());
      if (found !== undefined) return found;
      return this.insert(hash, key) ? 'ok' : this.acquireLocal(this.localKey(key), limit, true);
    } finally {
      this.unlock();
    }
  }

  /** Counts up `key` where it is in the table; undefined when it is not (among the first `probes` slots). */
  private increment(hash: number, key: Int32Array, limit: number, probes: number): AcquireResult | undefined {
    for (;;) {
      const slot = this.find(hash, key, probes);
      if (slot < 0) return undefined;
      let control = Atomics.load(this.controls, slot);
      for (;;) {
        // Taken over for another address since it was found (its count was 0, so the address is gone).
        if (control === LOCKED || control === 0n || !this.holds(slot, key)) break;
        if (countOf(control) >= limit) return 'client';
        const seen = Atomics.compareExchange(this.controls, slot, control, control + 1n);
        if (seen === control) return 'ok';
        if (seen === LOCKED || versionOf(seen) !== versionOf(control)) break;
        control = seen;
      }
    }
  }

  /**
   * Under the lock: puts `key` with a count of 1 into the first slot of its probe path that was never used or
   * holds a count of 0; false when there is none.
   */
  private insert(hash: number, key: Int32Array): boolean {
    const controls = this.controls;
    for (let probe = 0; probe < this.slots; probe++) {
      const slot = (hash + probe) & this.mask;
      const control = Atomics.load(controls, slot);
      if (control !== 0n && countOf(control) !== 0) continue;
      // A thread counting up the address still there may win: then this slot is in use after all.
      if (Atomics.compareExchange(controls, slot, control, LOCKED) !== control) continue;
      for (let i = 0; i < 4; i++) Atomics.store(this.keys, slot * 4 + i, key[i]!);
      if (probe > Atomics.load(this.header, H_PROBE)) Atomics.store(this.header, H_PROBE, probe);
      const version = (versionOf(control) + 1) % VERSION_LIMIT || 1;
      Atomics.store(controls, slot, controlWord(version, 1));
      return true;
    }
    return false;
  }

  private releaseClient(ip: string): boolean {
    const key = this.key;
    if (!addressWords(ip, key)) return this.releaseLocal(`t:${ip}`);
    if (this.local.size > 0 && this.releaseLocal(this.localKey(key))) return true;
    // A slot holding a count is never taken over, and was stored before its count was taken: no lock needed.
    const slot = this.find(this.hash(key), key, this.probes());
    if (slot < 0) return false;
    let control = Atomics.load(this.controls, slot);
    for (;;) {
      if (control === LOCKED || countOf(control) === 0) return false;
      const seen = Atomics.compareExchange(this.controls, slot, control, control - 1n);
      if (seen === control) return true;
      control = seen;
    }
  }

  /** The slot holding `key` among the first `probes` of its probe path, or -1. */
  private find(hash: number, key: Int32Array, probes: number): number {
    const controls = this.controls;
    for (let probe = 0; probe < probes && probe < this.slots; probe++) {
      const slot = (hash + probe) & this.mask;
      const control = Atomics.load(controls, slot);
      if (control === 0n) return -1;
      if (control !== LOCKED && this.holds(slot, key)) return slot;
    }
    return -1;
  }

  private holds(slot: number, key: Int32Array): boolean {
    const keys = this.keys;
    const at = slot * 4;
    return Atomics.load(keys, at) === key[0] && Atomics.load(keys, at + 1) === key[1] && Atomics.load(keys, at + 2) === key[2] && Atomics.load(keys, at + 3) === key[3];
  }

  /** How far along its probe path any address in the table is. */
  private probes(): number {
    return Atomics.load(this.header, H_PROBE) + 1;
  }

  private hash(key: Int32Array): number {
    let h = this.seed;
    for (let i = 0; i < 4; i++) h = mix(h ^ key[i]!);
    return h >>> 0;
  }

  private localKey(key: Int32Array): string {
    return `a:${key[0]},${key[1]},${key[2]},${key[3]}`;
  }

  private localCount(key: Int32Array): number {
    return this.local.size === 0 ? 0 : (this.local.get(this.localKey(key)) ?? 0);
  }

  private acquireLocal(localKey: string, limit: number, overflow: boolean): AcquireResult {
    const count = this.local.get(localKey) ?? 0;
    if (count >= limit) return 'client';
    this.local.set(localKey, count + 1);
    if (overflow) this.overflowed++;
    return 'ok';
  }

  private releaseLocal(localKey: string): boolean {
    const count = this.local.get(localKey);
    if (count === undefined) return false;
    if (count > 1) this.local.set(localKey, count - 1);
    else this.local.delete(localKey);
    return true;
  }

  /** Takes the insert lock; false when it is still held after {@link LOCK_WAIT_MS}. */
  private lock(): boolean {
    const header = this.header;
    let deadline = 0;
    for (let spins = 0; Atomics.compareExchange(header, H_LOCK, 0, 1) !== 0; spins++) {
      if (spins < SPINS_BEFORE_WAIT) continue;
      const now = performance.now();
      if (deadline === 0) deadline = now + LOCK_WAIT_MS;
      else if (now >= deadline) return false;
      // Wakes on the holder's notify, or after 1 ms at the latest.
      Atomics.wait(header, H_LOCK, 1, 1);
    }
    return true;
  }

  private unlock(): void {
    Atomics.store(this.header, H_LOCK, 0);
    Atomics.notify(this.header, H_LOCK);
  }
}
