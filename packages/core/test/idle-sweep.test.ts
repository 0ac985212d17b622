import { describe, expect, it } from 'vitest';
import { IdleSweep, type IdleWatched } from '../src/proxy/idle-sweep.js';

/** A watched connection made of two functions. */
function watching(trafficCount: () => number, closeIdle: () => void): IdleWatched {
  return { trafficCount, closeIdle };
}

/** A sweep on a hand-driven clock: the test calls `sweep()` where the interval would. */
function manual(idleMs: number) {
  let now = 0;
  const sweep = new IdleSweep(idleMs, () => now, false);
  return { sweep, advance: (ms: number) => (now += ms) };
}

describe('IdleSweep (connections.idleTimeoutMs with one timer)', () => {
  it('closes a connection after idleMs without traffic, not before', () => {
    const { sweep, advance } = manual(1000);
    let closed = 0;
    sweep.watch(
      watching(
        () => 0,
        () => closed++,
      ),
    );
    advance(999);
    sweep.sweep();
    expect(closed).toBe(0);
    advance(1);
    sweep.sweep();
    expect(closed).toBe(1);
    // Closed once: it is no longer watched.
    expect(sweep.size).toBe(0);
    advance(5000);
    sweep.sweep();
    expect(closed).toBe(1);
  });

  it('counts any change in the bytes moved as traffic and times from when it was seen', () => {
    const { sweep, advance } = manual(1000);
    let bytes = 10;
    let closed = false;
    sweep.watch(
      watching(
        () => bytes,
        () => (closed = true),
      ),
    );
    advance(800);
    bytes += 1;
    sweep.sweep();
    advance(800);
    sweep.sweep();
    expect(closed).toBe(false);
    advance(200);
    sweep.sweep();
    expect(closed).toBe(true);
  });

  it('closes only the silent connections and survives one whose close throws', () => {
    const { sweep, advance } = manual(100);
    let busyBytes = 0;
    const closed: string[] = [];
    sweep.watch(
      watching(
        () => 0,
        () => {
          closed.push('throws');
          throw new Error('close failed');
        },
      ),
    );
    sweep.watch(
      watching(
        () => busyBytes,
        () => closed.push('busy'),
      ),
    );
    sweep.watch(
      watching(
        () => 0,
        () => closed.push('idle'),
      ),
    );
    advance(60);
    busyBytes = 1;
    sweep.sweep();
    advance(60);
    sweep.sweep();
    expect(closed).toEqual(['throws', 'idle']);
    expect(sweep.size).toBe(1);
  });

  it('forgets an unwatched connection and stops its timer when none is left', () => {
    const sweep = new IdleSweep(60_000);
    let closed = false;
    const entry = sweep.watch(
      watching(
        () => 0,
        () => (closed = true),
      ),
    );
    expect((sweep as unknown as { timer?: NodeJS.Timeout }).timer).toBeDefined();
    sweep.unwatch(entry);
    expect(sweep.size).toBe(0);
    expect((sweep as unknown as { timer?: NodeJS.Timeout }).timer).toBeUndefined();
    sweep.sweep();
    expect(closed).toBe(false);
  });

  it("calls the watched object's methods on the object itself (a connection, not closures over it)", () => {
    const { sweep, advance } = manual(100);
    class Watched {
      bytes = 5;
      closes = 0;
      trafficCount(): number {
        return this.bytes;
      }
      closeIdle(): void {
        this.closes++;
      }
    }
    const quiet = new Watched();
    const busy = new Watched();
    const entry = sweep.watch(quiet);
    sweep.watch(busy);
    expect(entry.watched).toBe(quiet);
    expect(entry.seen).toBe(5);
    advance(60);
    busy.bytes = 6;
    sweep.sweep();
    advance(60);
    sweep.sweep();
    expect(quiet.closes).toBe(1);
    expect(busy.closes).toBe(0);
    expect(sweep.size).toBe(1);
  });

  it('sweeps every eighth of the timeout, at most every 30 s', () => {
    expect(new IdleSweep(400, () => 0, false).periodMs).toBe(50);
    expect(new IdleSweep(2 * 3600_000, () => 0, false).periodMs).toBe(30_000);
    expect(new IdleSweep(1, () => 0, false).periodMs).toBe(1);
  });
});
