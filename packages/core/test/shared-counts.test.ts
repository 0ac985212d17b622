/**
 * Connection counts shared by relay threads: the total and each client address's count are exact and never go
 * over their limits, also with two threads counting the same addresses at once; a full table or a stuck lock
 * never refuses anyone. The worker test runs the built module (`pnpm build`), as a relay thread would load it.
 */
import { existsSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { addressWords, DEFAULT_SLOTS, SharedCounts } from '../src/net/shared-counts.js';

const words = (text: string) => {
  const out = new Int32Array(4);
  return addressWords(text, out) ? [...out] : undefined;
};

/** Addresses that differ in one place each (a bit, a group, the family), so a key compared in part would merge some. */
function craftedAddresses(): string[] {
  const out: string[] = [];
  for (let i = 0; i < 16; i++) out.push(`10.0.${i >> 2}.${1 << (i & 3)}`);
  for (let i = 0; i < 16; i++) out.push(`2001:db8::${(1 << i).toString(16)}`);
  for (let group = 0; group < 8; group++) out.push(Array.from({ length: 8 }, (_, g) => (g === group ? 'a' : '0')).join(':'));
  // The IPv6 twins of IPv4 addresses that are not IPv4-mapped: other clients than 10.0.0.1.
  out.push('::10.0.0.1', '64:ff9b::10.0.0.1', '::ffff:0:10.0.0.1', '2002:a00:1::');
  out.push('0.0.0.1', '::1', '::', '0.0.0.0', '255.255.255.255', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff');
  return out;
}

describe('address keys', () => {
  it('IPv4 and IPv4-mapped IPv6 (dotted or in hex) are one client; other spellings of one IPv6 address are one client', () => {
    expect(words('127.0.0.1')).toEqual(words('::ffff:127.0.0.1'));
    expect(words('127.0.0.1')).toEqual(words('::FFFF:7f00:1'));
    expect(words('127.0.0.1')).toEqual([0, 0, 0xffff, 0x7f00_0001]);
    expect(words('2001:db8::1')).toEqual(words('2001:0db8:0000:0000:0000:0000:0000:0001'));
    expect(words('fe80::1%eth0')).toEqual(words('fe80::1'));
    expect(words('::1')).not.toEqual(words('0.0.0.1'));
    expect(words('::')).toEqual([0, 0, 0, 0]);
    expect(words('ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff')).toEqual([-1, -1, -1, -1]);
    for (const text of ['', 'localhost', '1.2.3', '1.2.3.256', '2001:db8::1::2', '[::1]']) expect(words(text), text).toBeUndefined();
  });

  it('the crafted addresses are all different keys', () => {
    const addresses = craftedAddresses();
    expect(new Set(addresses.map((a) => JSON.stringify(words(a)))).size).toBe(addresses.length);
  });
});

describe('shared counts', () => {
  it('refuses past maxPerClient and past the total, the total checked first; release frees', () => {
    const counts = SharedCounts.create({ slots: 64 });
    expect(counts.slots).toBe(64);
    expect(counts.tryAcquire('192.0.2.1', 3, 2)).toBe('ok');
    expect(counts.tryAcquire('::ffff:192.0.2.1', 3, 2)).toBe('ok');
    expect(counts.tryAcquire('192.0.2.1', 3, 2)).toBe('client');
    expect(counts.clientCount('192.0.2.1')).toBe(2);
    expect(counts.total).toBe(2);
    expect(counts.tryAcquire('2001:db8::1', 3, 2)).toBe('ok');
    expect(counts.tryAcquire('2001:db8::2', 3, 2)).toBe('total');
    // Both over: the total is named, as without shared counts.
    expect(counts.tryAcquire('192.0.2.1', 3, 2)).toBe('total');
    expect(counts.total).toBe(3);
    counts.release('192.0.2.1');
    expect(counts.total).toBe(2);
    expect(counts.clientCount('192.0.2.1')).toBe(1);
    expect(counts.tryAcquire('2001:db8::2', 3, 2)).toBe('ok');
    // 0: no limit per client.
    counts.release('2001:db8::2');
    for (let i = 0; i < 5; i++) expect(counts.tryAcquire('2001:db8::1', 100, 0)).toBe('ok');
    expect(counts.clientCount('2001:db8::1')).toBe(6);
  });

  it('two instances on one buffer count together', () => {
    const one = SharedCounts.create({ slots: 8 });
    const two = SharedCounts.from(one.buffer);
    expect(one.tryAcquire('198.51.100.7', 10, 2)).toBe('ok');
    expect(two.tryAcquire('198.51.100.7', 10, 2)).toBe('ok');
    expect(two.tryAcquire('::ffff:198.51.100.7', 10, 2)).toBe('client');
    expect(one.tryAcquire('198.51.100.8', 3, 0)).toBe('ok');
    expect(two.tryAcquire('198.51.100.9', 3, 0)).toBe('total');
    two.release('198.51.100.7');
    expect(one.clientCount('198.51.100.7')).toBe(1);
    expect(one.total).toBe(2);
  });

  it('distinct addresses never share a count, also in a small table where their probe paths cross', () => {
    const addresses = craftedAddresses();
    const counts = SharedCounts.create({ slots: 64 });
    addresses.forEach((ip, i) => {
      for (let n = 0; n <= i % 4; n++) expect(counts.tryAcquire(ip, 1_000, 0)).toBe('ok');
    });
    addresses.forEach((ip, i) => expect(counts.clientCount(ip), ip).toBe((i % 4) + 1));
    expect(counts.total).toBe(addresses.reduce((sum, _, i) => sum + (i % 4) + 1, 0));
    // Each address gets exactly its own maxPerClient, whatever the others hold.
    for (const ip of addresses) {
      let admitted = 0;
      while (counts.tryAcquire(ip, 1_000, 5) === 'ok') admitted++;
      expect(counts.clientCount(ip), ip).toBe(5);
      expect(admitted).toBe(5 - (addresses.indexOf(ip) % 4) - 1);
    }
    for (const ip of addresses) for (let n = 0; n < 5; n++) counts.release(ip);
    expect(counts.total).toBe(0);
    for (const ip of addresses) expect(counts.clientCount(ip)).toBe(0);
    expect(counts.overflowed).toBe(0);
  });

  it('a slot whose count fell to 0 is taken by the next new address; a release never counted is ignored', () => {
    const counts = SharedCounts.create({ slots: 2 });
    const addresses = craftedAddresses();
    for (const ip of addresses) {
      expect(counts.tryAcquire(ip, 10, 1)).toBe('ok');
      expect(counts.tryAcquire(addresses[0]!, 10, 1)).toBe(ip === addresses[0] ? 'client' : 'ok');
      expect(counts.clientCount(ip)).toBe(1);
      counts.release(ip);
      if (ip !== addresses[0]) counts.release(addresses[0]!);
    }
    expect(counts.overflowed).toBe(0);
    counts.release('203.0.113.1');
    counts.release('not an address');
    expect(counts.total).toBe(0);
    expect(counts.tryAcquire('203.0.113.1', 1, 0)).toBe('ok');
    expect(counts.tryAcquire('203.0.113.2', 1, 0)).toBe('total');
  });

  it('a full table admits a new address with a count of this thread, keeps its limit per thread, and says so', () => {
    const counts = SharedCounts.create({ slots: 4 });
    const held = ['10.0.0.1', '10.0.0.2', '2001:db8::1', '2001:db8::2'];
    for (const ip of held) expect(counts.tryAcquire(ip, 100, 2)).toBe('ok');
    expect(counts.overflowed).toBe(0);
    expect(counts.tryAcquire('10.0.0.5', 100, 2)).toBe('ok');
    expect(counts.overflowed).toBe(1);
    expect(counts.tryAcquire('::ffff:10.0.0.5', 100, 2)).toBe('ok');
    expect(counts.tryAcquire('10.0.0.5', 100, 2)).toBe('client');
    expect(counts.clientCount('10.0.0.5')).toBe(2);
    // The total stays shared, the held addresses keep their shared counts.
    expect(counts.total).toBe(6);
    expect(SharedCounts.from(counts.buffer).clientCount('10.0.0.5')).toBe(0);
    expect(counts.tryAcquire('10.0.0.1', 100, 2)).toBe('ok');
    expect(counts.tryAcquire('10.0.0.1', 100, 2)).toBe('client');
    expect(counts.tryAcquire('10.0.0.6', 7, 2)).toBe('total');
    counts.release('10.0.0.5');
    counts.release('10.0.0.5');
    expect(counts.clientCount('10.0.0.5')).toBe(0);
    expect(counts.total).toBe(5);
    // Once a slot's count is 0, a new address goes into the table again.
    counts.release('2001:db8::2');
    expect(counts.tryAcquire('10.0.0.7', 100, 2)).toBe('ok');
    expect(SharedCounts.from(counts.buffer).clientCount('10.0.0.7')).toBe(1);
    expect(counts.overflowed).toBe(2);
  });

  it('text that is no address is counted by this thread, apart by its text', () => {
    const counts = SharedCounts.create({ slots: 4 });
    expect(counts.tryAcquire('', 3, 1)).toBe('ok');
    expect(counts.tryAcquire('', 3, 1)).toBe('client');
    expect(counts.tryAcquire('unknown', 3, 1)).toBe('ok');
    expect(counts.total).toBe(2);
    counts.release('');
    expect(counts.clientCount('')).toBe(0);
    expect(counts.clientCount('unknown')).toBe(1);
    expect(counts.total).toBe(1);
    expect(counts.overflowed).toBe(0);
  });

  it('a lock left held (a thread ended inside it) costs a short wait and a count of this thread, never a refusal', () => {
    const counts = SharedCounts.create({ slots: 16 });
    expect(counts.tryAcquire('10.0.0.1', 10, 2)).toBe('ok');
    new Int32Array(counts.buffer, 0, 8)[4] = 1;
    // An address already in the table needs no lock.
    expect(counts.tryAcquire('10.0.0.1', 10, 2)).toBe('ok');
    expect(counts.tryAcquire('10.0.0.1', 10, 2)).toBe('client');
    const started = performance.now();
    expect(counts.tryAcquire('10.0.0.2', 10, 2)).toBe('ok');
    expect(performance.now() - started).toBeGreaterThanOrEqual(150);
    expect(counts.overflowed).toBe(1);
    expect(counts.clientCount('10.0.0.2')).toBe(1);
    counts.release('10.0.0.2');
    counts.release('10.0.0.1');
    expect(counts.total).toBe(1);
  });

  it('bad buffers and bad limits are clear errors', () => {
    expect(() => SharedCounts.from(new SharedArrayBuffer(64))).toThrow(/not made by SharedCounts\.create\(\)/);
    expect(() => SharedCounts.from(new ArrayBuffer(64) as unknown as SharedArrayBuffer)).toThrow(/SharedArrayBuffer/);
    expect(() => SharedCounts.create({ slots: 0 })).toThrow(RangeError);
    expect(() => SharedCounts.create({ slots: 1.5 })).toThrow(/slots must be an integer/);
    expect(SharedCounts.create({ slots: 100 }).slots).toBe(128);
    expect(SharedCounts.create().slots).toBe(DEFAULT_SLOTS);
    const counts = SharedCounts.create({ slots: 4 });
    expect(() => counts.tryAcquire('10.0.0.1', Number.NaN, 1)).toThrow(/limits must be numbers/);
    expect(counts.total).toBe(0);
  });
});

describe('shared counts across worker threads', () => {
  const distModule = fileURLToPath(new URL('../dist/net/shared-counts.js', import.meta.url));
  const source = fileURLToPath(new URL('../src/net/shared-counts.ts', import.meta.url));
  const workerFile = new URL('./fixtures/shared-counts-worker.mjs', import.meta.url);

  interface Report {
    held: string[];
    maxClientSeen: number;
    maxTotalSeen: number;
    admitted: number;
    refused: { total: number; client: number };
    overflowed: number;
  }

  function message<T>(worker: Worker): Promise<T> {
    return new Promise((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
  }

  /** The client an address names (the addresses below use only the `::ffff:` spelling of IPv4-mapped ones). */
  const client = (ip: string) => ip.replace(/^::ffff:/, '');

  async function hammer(slots: number, addresses: string[], maxTotal: number, maxPerClient: number, iterations: number) {
    const counts = SharedCounts.create({ slots });
    const gate = new SharedArrayBuffer(4);
    const workers = [1, 2].map((n) => new Worker(workerFile, { workerData: { buffer: counts.buffer, gate, addresses, iterations, maxTotal, maxPerClient, seed: n * 7919 } }));
    try {
      const reports = await Promise.all(workers.map((w) => message<Report>(w)));
      for (const report of reports) {
        expect(report.maxClientSeen).toBeLessThanOrEqual(maxPerClient);
        expect(report.maxTotalSeen).toBeLessThanOrEqual(maxTotal);
        expect(report.overflowed).toBe(0);
        // Both limits were reached, or the test proved nothing.
        expect(report.refused.client).toBeGreaterThan(0);
        expect(report.refused.total).toBeGreaterThan(0);
      }
      // While both threads hold what they hold: every count is exactly the sum of what the threads hold.
      const held = reports.flatMap((r) => r.held);
      expect(counts.total).toBe(held.length);
      for (const ip of addresses) expect(counts.clientCount(ip), ip).toBe(held.filter((h) => client(h) === client(ip)).length);
      const released = workers.map((w) => message<{ released: number }>(w));
      for (const w of workers) w.postMessage('release');
      await Promise.all(released);
      expect(counts.total).toBe(0);
      for (const ip of addresses) expect(counts.clientCount(ip), ip).toBe(0);
      return reports;
    } finally {
      await Promise.all(workers.map((w) => w.terminate()));
    }
  }

  const addresses = [
    ...Array.from({ length: 12 }, (_, i) => `10.1.0.${i}`),
    ...Array.from({ length: 12 }, (_, i) => `2001:db8::${i.toString(16)}`),
    ...Array.from({ length: 6 }, (_, i) => `::ffff:10.1.0.${i}`),
  ];

  it('needs the built module (pnpm build)', () => {
    expect(existsSync(distModule), `${distModule} is missing: run pnpm build`).toBe(true);
    expect(statSync(distModule).mtimeMs, `${distModule} is older than its source: run pnpm build`).toBeGreaterThanOrEqual(statSync(source).mtimeMs);
  });

  it('two threads counting the same addresses at once: never over a limit, every count exact, all 0 at the end', async () => {
    const reports = await hammer(DEFAULT_SLOTS, addresses, 16, 3, 100_000);
    for (const report of reports) expect(report.admitted).toBeGreaterThan(10_000);
  });

  it('the same in a table smaller than the addresses, where slots are taken over all the time', async () => {
    // At most 12 addresses hold a count at once, so 4 of the 16 slots are always free to take over.
    await hammer(16, addresses, 12, 3, 100_000);
  });
});
