import { describe, expect, it } from 'vitest';
import { EventSink, type EventSinkOptions } from '../src/proxy/event-sink.js';
import type { ImEvent } from '@imspect/sdk';
import type { LoggerHooks } from '@imspect/sdk';
import { recordingLogger, sleep, textEvent as event, textEvents as events, waitFor } from './helpers.js';

const OPTIONS: EventSinkOptions = { batchSize: 3, flushIntervalMs: 10, retryMaxDelayMs: 10, writeTimeoutMs: 1_000 };

/** A logger that stores what it is given and can be told to fail. */
function memoryLogger(behaviour: { failures?: number; delayMs?: number; hangFirst?: number } = {}) {
  const stored: ImEvent[] = [];
  const batches: string[][] = [];
  const calls: string[][] = [];
  let failuresLeft = behaviour.failures ?? 0;
  let hangsLeft = behaviour.hangFirst ?? 0;
  let flushed = 0;
  let closed = 0;
  const hooks: LoggerHooks = {
    async write(batch) {
      calls.push(batch.map((e) => e.text!));
      if (hangsLeft > 0) {
        hangsLeft--;
        return new Promise<void>(() => undefined);
      }
      if (behaviour.delayMs) await sleep(behaviour.delayMs);
      if (failuresLeft > 0) {
        failuresLeft--;
        throw new Error('disk full');
      }
      batches.push(batch.map((e) => e.text!));
      stored.push(...batch);
    },
    async flush() {
      flushed++;
    },
    async close() {
      closed++;
    },
  };
  return {
    hooks,
    stored,
    batches,
    calls,
    get flushed() {
      return flushed;
    },
    get closed() {
      return closed;
    },
  };
}

describe('EventSink', () => {
  it('writes in batches of batchSize, in order', async () => {
    const logger = memoryLogger();
    const sink = new EventSink([{ name: 'mem', hooks: logger.hooks }], OPTIONS, recordingLogger());
    sink.accept(events(7));
    await waitFor(() => logger.stored.length === 7);
    expect(logger.batches).toEqual([['e0', 'e1', 'e2'], ['e3', 'e4', 'e5'], ['e6']]);
    await sink.close({ graceMs: 1_000 });
  });

  it('a logger further behind than a batch gets up to maxBatchSize events per write, each once and in order, also across a failed write', async () => {
    const logger = memoryLogger({ delayMs: 20, failures: 1 });
    const sink = new EventSink([{ name: 'mem', hooks: logger.hooks }], { ...OPTIONS, maxBatchSize: 5 }, recordingLogger());
    sink.accept(events(13));
    await waitFor(() => logger.stored.length === 13, 5_000);
    // The first write (13 pending) fails and is read again, as large; then 8 pending, then 3 (one batch).
    expect(logger.calls.map((c) => c.length)).toEqual([5, 5, 5, 3]);
    expect(logger.batches).toEqual([
      ['e0', 'e1', 'e2', 'e3', 'e4'],
      ['e5', 'e6', 'e7', 'e8', 'e9'],
      ['e10', 'e11', 'e12'],
    ]);
    await sink.close({ graceMs: 1_000 });
  });

  it('a small batch is written after flushIntervalMs', async () => {
    const logger = memoryLogger();
    const sink = new EventSink([{ name: 'mem', hooks: logger.hooks }], { ...OPTIONS, batchSize: 100, flushIntervalMs: 50 }, recordingLogger());
    sink.accept(events(2));
    await sleep(15);
    expect(logger.stored).toHaveLength(0);
    await waitFor(() => logger.stored.length === 2, 1_000);
    expect(logger.batches).toEqual([['e0', 'e1']]);
    await sink.close({ graceMs: 1_000 });
  });

  it('events accepted while a write is running are written next, in order', async () => {
    const logger = memoryLogger({ delayMs: 20 });
    const sink = new EventSink([{ name: 'mem', hooks: logger.hooks }], OPTIONS, recordingLogger());
    for (let i = 0; i < 10; i++) {
      sink.accept([event(`x${i}`)]);
      await sleep(3);
    }
    await waitFor(() => logger.stored.length === 10, 2_000);
    expect(logger.stored.map((e) => e.text)).toEqual(Array.from({ length: 10 }, (_, i) => `x${i}`));
    expect(logger.batches.every((b) => b.length <= 3)).toBe(true);
    await sink.close({ graceMs: 1_000 });
  });

  it('a logger failing 3 times then succeeding gets every event exactly once, in order; others are not held up', async () => {
    const flaky = memoryLogger({ failures: 3 });
    const steady = memoryLogger();
    const log = recordingLogger();
    const sink = new EventSink(
      [
        { name: 'flaky', hooks: flaky.hooks },
        { name: 'steady', hooks: steady.hooks },
      ],
      OPTIONS,
      log,
    );
    const all = events(8);
    sink.accept(all.slice(0, 4));
    await waitFor(() => steady.stored.length === 4, 1_000, 'steady first');
    sink.accept(all.slice(4));
    await waitFor(() => steady.stored.length === 8, 1_000, 'steady all');
    // The steady logger never waited for the flaky one.
    expect(steady.calls.length).toBe(steady.batches.length);
    await waitFor(() => flaky.stored.length === 8, 2_000, 'flaky all');
    expect(flaky.stored.map((e) => e.id)).toEqual(all.map((e) => e.id));
    expect(new Set(flaky.stored.map((e) => e.id)).size).toBe(8);
    expect(steady.stored.map((e) => e.id)).toEqual(all.map((e) => e.id));
    const status = sink.status();
    expect(status.find((s) => s.name === 'flaky')).toMatchObject({ failures: 3, delivered: 8, pending: 0, lastError: 'plugin "flaky" failed in write: disk full' });
    expect(status.find((s) => s.name === 'steady')).toMatchObject({ failures: 0, delivered: 8, pending: 0 });
    const errors = log.records.filter((r) => r.level === 'error');
    expect(errors).toHaveLength(3);
    expect(errors.every((r) => (r.obj as { plugin: string; hook: string }).plugin === 'flaky' && (r.obj as { hook: string }).hook === 'write')).toBe(true);
    await sink.close({ graceMs: 1_000 });
  });

  it('close() drains what is queued, then flushes and closes each logger once', async () => {
    const logger = memoryLogger({ delayMs: 5 });
    const sink = new EventSink([{ name: 'mem', hooks: logger.hooks }], { ...OPTIONS, flushIntervalMs: 10_000 }, recordingLogger());
    sink.accept(events(2));
    sink.accept(events(5, 'f'));
    await sink.close({ graceMs: 2_000 });
    expect(logger.stored.map((e) => e.text)).toEqual(['e0', 'e1', 'f0', 'f1', 'f2', 'f3', 'f4']);
    expect(logger.flushed).toBe(1);
    expect(logger.closed).toBe(1);
  });

  it('close() retries a failing logger until it succeeds within the grace period', async () => {
    const logger = memoryLogger({ failures: 2 });
    const sink = new EventSink([{ name: 'mem', hooks: logger.hooks }], { ...OPTIONS, flushIntervalMs: 10_000 }, recordingLogger());
    sink.accept(events(4));
    await sink.close({ graceMs: 2_000 });
    expect(logger.stored.map((e) => e.text)).toEqual(['e0', 'e1', 'e2', 'e3']);
  });

  it('close() gives up after the grace period and reports what was not stored', async () => {
    const logger = memoryLogger({ failures: 1_000 });
    const log = recordingLogger();
    const sink = new EventSink([{ name: 'broken', hooks: logger.hooks }], { ...OPTIONS, flushIntervalMs: 10_000 }, log);
    sink.accept(events(4));
    const started = Date.now();
    await sink.close({ graceMs: 150 });
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(logger.stored).toEqual([]);
    expect(log.records.some((r) => r.level === 'error' && (r.obj as { undelivered?: number }).undelivered === 4)).toBe(true);
    expect(logger.closed).toBe(1);
  });

  it('a logger hanging past writeTimeoutMs counts as failed and the batch is retried', async () => {
    const logger = memoryLogger({ hangFirst: 1 });
    const log = recordingLogger();
    const sink = new EventSink([{ name: 'slow', hooks: logger.hooks }], { ...OPTIONS, writeTimeoutMs: 50 }, log);
    sink.accept(events(2));
    await waitFor(() => logger.stored.length === 2, 2_000, 'retried write');
    expect(logger.calls).toEqual([
      ['e0', 'e1'],
      ['e0', 'e1'],
    ]);
    const status = sink.status()[0]!;
    expect(status.failures).toBe(1);
    expect(status.delivered).toBe(2);
    expect(status.lastError).toBe('plugin "slow" did not finish write within 50 ms');
    await sink.close({ graceMs: 1_000 });
  });

  it('a logger whose flush fails is still closed', async () => {
    let closed = 0;
    const log = recordingLogger();
    const hooks: LoggerHooks = {
      write: async () => undefined,
      flush: async () => {
        throw new Error('flush failed');
      },
      close: async () => {
        closed++;
      },
    };
    const sink = new EventSink([{ name: 'f', hooks }], OPTIONS, log);
    sink.accept(events(1));
    await sink.close({ graceMs: 1_000 });
    expect(closed).toBe(1);
    expect(log.records.some((r) => r.level === 'error' && (r.obj as { plugin?: string }).plugin === 'f')).toBe(true);
  });

  it('accept never throws, and event listeners that throw do not stop delivery', async () => {
    const logger = memoryLogger();
    const log = recordingLogger();
    const sink = new EventSink([{ name: 'mem', hooks: logger.hooks }], OPTIONS, log);
    const seen: string[] = [];
    sink.onEvents(() => {
      throw new Error('listener bug');
    });
    const off = sink.onEvents((batch) => seen.push(...batch.map((e) => e.text!)));
    expect(() => sink.accept(events(2))).not.toThrow();
    off();
    sink.accept(events(1, 'g'));
    await waitFor(() => logger.stored.length === 3);
    expect(seen).toEqual(['e0', 'e1']);
    await sink.close({ graceMs: 1_000 });
  });

  it('a logger whose write throws synchronously is retried like one that rejects', async () => {
    let calls = 0;
    const stored: string[] = [];
    const hooks = {
      write(batch: readonly ImEvent[]) {
        calls++;
        if (calls === 1) throw new Error('sync boom');
        stored.push(...batch.map((e) => e.text!));
        return Promise.resolve();
      },
    } as LoggerHooks;
    const sink = new EventSink([{ name: 'sync', hooks }], OPTIONS, recordingLogger());
    sink.accept(events(2));
    await waitFor(() => stored.length === 2, 2_000);
    expect(stored).toEqual(['e0', 'e1']);
    await sink.close({ graceMs: 1_000 });
  });
});
