// The journal's parts on their own: consumer cursors, the memory window and the capacity policy.
import { describe, expect, it } from 'vitest';
import { ConsumerCursors } from '../src/journal/cursors.js';
import { MemoryWindow } from '../src/journal/memory-window.js';
import { CapacityPolicy, type CapacityHost } from '../src/journal/capacity.js';
import { recordingLogger, textEvents } from './helpers.js';

describe('ConsumerCursors', () => {
  it('restores saved counts, and rejects an unknown consumer', () => {
    const cursors = new ConsumerCursors();
    cursors.add('a', 5, { lost: 3, lastError: 'boom', lastErrorAt: '2026-01-01T00:00:00.000Z' });
    cursors.add('b', 7);
    expect(cursors.names()).toEqual(['a', 'b']);
    expect(cursors.size).toBe(2);
    expect(cursors.get('a')).toEqual({ position: 5, delivered: 0, failures: 0, lost: 3, lastError: 'boom', lastErrorAt: '2026-01-01T00:00:00.000Z' });
    expect(cursors.get('b')).toEqual({ position: 7, delivered: 0, failures: 0, lost: 0 });
    expect(() => cursors.get('c')).toThrow('unknown consumer "c"');
  });

  it('an ack moves the position forward only, counting what was delivered', () => {
    const cursors = new ConsumerCursors();
    cursors.add('a', 10);
    expect(cursors.ack('a', 15)).toBe('moved');
    expect(cursors.get('a')).toMatchObject({ position: 15, delivered: 5 });
    expect(cursors.ack('a', 12)).toBe('unchanged');
    expect(cursors.ack('a', 15)).toBe('unchanged');
    expect(cursors.get('a')).toMatchObject({ position: 15, delivered: 5 });
  });

  it('a batch read before its events were given up was stored after all: lost is given back', () => {
    const cursors = new ConsumerCursors();
    cursors.add('slow', 0);
    cursors.giveUpBefore(100, () => undefined); // the consumer was at 0: 100 lost
    expect(cursors.get('slow')).toMatchObject({ position: 100, lost: 100 });
    // It had read [20, 50) before they were given up, and stored them.
    expect(cursors.ack('slow', 50, 20)).toBe('counted');
    expect(cursors.get('slow')).toMatchObject({ position: 100, lost: 70, delivered: 30 });
    // A batch reaching past the new position: the part before it is given back, the rest moves it.
    expect(cursors.ack('slow', 120, 90)).toBe('moved');
    expect(cursors.get('slow')).toMatchObject({ position: 120, lost: 60, delivered: 60 });
  });

  it('giving up moves only the consumers before the end, and tells of each', () => {
    const cursors = new ConsumerCursors();
    cursors.add('behind', 3);
    cursors.add('inside', 8);
    cursors.add('at', 10);
    cursors.add('past', 12);
    const told: Array<[string, number]> = [];
    cursors.giveUpBefore(10, (name, state, count) => told.push([name, count]) && expect(state.position).toBe(10));
    expect(told).toEqual([
      ['behind', 7],
      ['inside', 2],
    ]);
    expect(cursors.snapshot()).toMatchObject({
      behind: { position: 10, lost: 7 },
      inside: { position: 10, lost: 2 },
      at: { position: 10, lost: 0 },
      past: { position: 12, lost: 0 },
    });
  });

  it('minimum, pending and failures; the snapshot is a copy', () => {
    const cursors = new ConsumerCursors();
    expect(cursors.minPosition(42)).toBe(42);
    cursors.add('a', 4);
    cursors.add('b', 9);
    expect(cursors.minPosition(20)).toBe(4);
    expect(cursors.pendingBy(20)).toEqual({ a: 16, b: 11 });
    cursors.recordFailure('b', 'db down', new Date('2026-02-03T04:05:06.000Z'));
    cursors.recordFailure('b', 'db still down', new Date('2026-02-03T04:05:07.000Z'));
    const snapshot = cursors.snapshot();
    expect(snapshot['b']).toEqual({ position: 9, delivered: 0, failures: 2, lost: 0, lastError: 'db still down', lastErrorAt: '2026-02-03T04:05:07.000Z' });
    snapshot['a']!.position = 99;
    expect(cursors.get('a').position).toBe(4);
  });
});

describe('MemoryWindow', () => {
  const texts = (events: readonly { text?: string }[]) => events.map((e) => e.text);

  it('holds [start, end) and hands out slices by sequence number', () => {
    const window = new MemoryWindow();
    window.reset(100);
    expect([window.start, window.end, window.size]).toEqual([100, 100, 0]);
    window.push(textEvents(5, 'e'));
    expect([window.start, window.end, window.size]).toEqual([100, 105, 5]);
    expect(texts(window.slice(101, 104))).toEqual(['e1', 'e2', 'e3']);
    window.trim(102);
    expect([window.start, window.end]).toEqual([102, 105]);
    expect(texts(window.slice(102, 105))).toEqual(['e2', 'e3', 'e4']);
    // Trimming backwards or past the end gives up only what it holds.
    window.trim(90);
    expect(window.start).toBe(102);
    window.trim(500);
    expect([window.start, window.end, window.size]).toEqual([105, 105, 0]);
    window.push(textEvents(1, 'n'));
    expect(texts(window.slice(105, 106))).toEqual(['n0']);
  });

  it('keeps each written event’s place in its segment, through trims and the copy down of the array', () => {
    const window = new MemoryWindow();
    window.reset(0);
    const total = 20_000;
    for (let i = 0; i < total; i += 10) {
      // Ten records of 50 bytes each, written at 1000 + 500 * (i / 10).
      window.pushWritten(textEvents(10, `b${i}-`), [0, 50, 100, 150, 200, 250, 300, 350, 400, 450], 1000 + 50 * i);
      if (i % 1000 === 0) window.trim(i - 100);
    }
    window.trim(total - 3);
    expect([window.start, window.end]).toEqual([total - 3, total]);
    for (let seq = total - 3; seq < total; seq++) expect(window.offsetOf(seq)).toBe(1000 + 50 * seq);
    expect(texts(window.slice(total - 3, total))).toEqual([`b${total - 10}-7`, `b${total - 10}-8`, `b${total - 10}-9`]);
  });

  it('reset empties it', () => {
    const window = new MemoryWindow();
    window.push(textEvents(3, 'e'));
    window.reset(7);
    expect([window.start, window.end, window.size]).toEqual([7, 7, 0]);
    expect(window.slice(7, 7)).toEqual([]);
  });
});

describe('CapacityPolicy', () => {
  interface FakeSegment {
    end: number;
    bytes: number;
    open: boolean;
  }

  function setUp(onFull: 'forward' | 'block', maxBytes = 1000) {
    const log = recordingLogger();
    const cursors = new ConsumerCursors();
    cursors.add('fast', 0);
    cursors.add('slow', 0);
    const segments: FakeSegment[] = [];
    const saves: Array<number | undefined> = [];
    const host: CapacityHost & { head: number; pendingBytes: number } = {
      head: 0,
      pendingBytes: 0,
      get bytes() {
        return segments.reduce((n, s) => n + s.bytes, 0) + this.pendingBytes;
      },
      oldestClosedEnd: () => (segments.length > 1 && !segments[0]!.open ? segments[0]!.end : undefined),
      deleteOldest: () => void segments.shift(),
      changed: (within) => void saves.push(within),
    };
    const policy = new CapacityPolicy(maxBytes, onFull, cursors, host, log);
    return { log, cursors, segments, saves, host, policy };
  }

  it('forward: at the limit, closed segments are given up for the consumers inside them, never the open one', () => {
    const { log, cursors, segments, host, policy } = setUp('forward');
    segments.push({ end: 10, bytes: 400, open: false }, { end: 20, bytes: 400, open: false }, { end: 30, bytes: 400, open: false }, { end: 40, bytes: 300, open: true });
    host.head = 40;
    cursors.ack('fast', 40);
    cursors.ack('slow', 5);
    policy.check();
    // 1500 bytes: the two oldest go (700 left); the third is not needed.
    expect(segments.map((s) => s.end)).toEqual([30, 40]);
    expect(policy.full).toBe(false);
    expect(cursors.get('slow')).toMatchObject({ position: 20, lost: 15 });
    expect(cursors.get('fast')).toMatchObject({ position: 40, lost: 0 });
    // Logged once for the consumer (the second give-up within 10 s is not logged again).
    expect(log.records.filter((r) => r.level === 'error').map((r) => r.msg)).toEqual([expect.stringContaining('logger "slow" is behind: its 5 oldest events were given up')]);
    // Over again: the last closed one goes too, and with only the open one left it is full.
    segments[1]!.bytes = 1000;
    policy.check();
    expect(segments.map((s) => s.end)).toEqual([40]);
    expect(cursors.get('slow')).toMatchObject({ position: 30, lost: 25 });
    expect(policy.full).toBe(true);
    expect(policy.refusesAppend()).toBe(true);
    expect(log.records.at(-1)!.msg).toContain('journal FULL: traffic is still forwarded');
  });

  it('block: nothing is given up; whenRoom waits until the journal is under its limit again', async () => {
    const { log, cursors, segments, host, policy } = setUp('block');
    segments.push({ end: 10, bytes: 600, open: false }, { end: 20, bytes: 500, open: true });
    host.head = 20;
    policy.check();
    expect(policy.full).toBe(true);
    expect(policy.refusesAppend()).toBe(false); // block holds relaying instead of dropping
    expect(segments).toHaveLength(2);
    expect(cursors.get('slow').lost).toBe(0);
    expect(log.records.at(-1)!.msg).toContain('relaying is paused');
    let released = false;
    const room = policy.whenRoom(false).then(() => (released = true));
    await Promise.resolve();
    policy.check();
    await Promise.resolve();
    expect(released).toBe(false);
    segments.shift();
    policy.check();
    await room;
    expect(released).toBe(true);
    expect(policy.full).toBe(false);
    expect(log.records.at(-1)).toMatchObject({ level: 'warn', msg: expect.stringContaining('has room again') });
    await expect(policy.whenRoom(false)).resolves.toBeUndefined();
  });

  it('drops are counted and saved at once, and logged at most every 10 s unless asked to', () => {
    const { log, saves, policy } = setUp('forward');
    policy.drop(3, 'the journal is full');
    policy.drop(2, 'the journal is full');
    expect(policy.dropped).toBe(5);
    expect(saves).toEqual([0, 0]);
    expect(log.records.filter((r) => r.level === 'error')).toHaveLength(1);
    expect(log.records[0]!.obj).toMatchObject({ dropped: 3, events: 3, pending: { fast: 0, slow: 0 } });
    policy.drop(1, 'the disk still refuses writes at shutdown', true);
    expect(log.records.filter((r) => r.level === 'error')).toHaveLength(2);
    expect(log.records.at(-1)!.msg).toContain('the disk still refuses writes at shutdown: new events are NOT being logged (6 so far)');
  });

  it('a refused write makes it full until a write works; forward refuses appends only until the retry is due', async () => {
    const { log, policy } = setUp('forward');
    const error = Object.assign(new Error('no space left on device'), { code: 'ENOSPC' });
    policy.writeFailed(error, 4);
    expect(policy.full).toBe(true);
    expect(policy.diskError).toMatchObject({ code: 'ENOSPC', message: 'no space left on device' });
    expect(policy.writeHeldBack()).toBe(true);
    expect(policy.refusesAppend()).toBe(true);
    expect(policy.refusal()).toBe('the disk refuses writes (ENOSPC)');
    expect(log.records.at(-1)!.msg).toContain('(ENOSPC: disk full); new events are NOT logged');
    policy.nextWriteAttempt = Date.now() - 1; // the retry is due: the next append is let through to try
    expect(policy.writeHeldBack()).toBe(false);
    expect(policy.refusesAppend()).toBe(false);
    expect(policy.full).toBe(true);
    const room = policy.whenRoom(false);
    policy.writeRecovered();
    await room;
    expect(policy.full).toBe(false);
    expect(policy.diskError).toBeUndefined();
    expect(log.records.at(-1)!.msg).toContain('the disk takes writes again');
  });

  it('a closing journal lets every waiter go, full or not', async () => {
    const { segments, policy } = setUp('block');
    segments.push({ end: 10, bytes: 2000, open: true });
    policy.check();
    expect(policy.full).toBe(true);
    await expect(policy.whenRoom(true)).resolves.toBeUndefined();
    const waiting = policy.whenRoom(false);
    policy.releaseAll();
    await expect(waiting).resolves.toBeUndefined();
  });
});
