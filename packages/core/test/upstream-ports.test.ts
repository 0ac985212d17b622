import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { SharedUpstreamPorts } from '../src/net/upstream-ports.js';

describe('SharedUpstreamPorts (relay threads: whose upstream socket is this client?)', () => {
  it('counts connects in progress and open upstream ports, each release once', () => {
    const ports = SharedUpstreamPorts.create();
    const other = new SharedUpstreamPorts(ports.buffer);
    const done = ports.connecting();
    expect(other.pending).toBe(1);
    done();
    done();
    expect(other.pending).toBe(0);
    const closed = ports.opened(40_001);
    const again = ports.opened(40_001);
    expect(other.isOwn(40_001)).toBe(true);
    expect(other.isOwn(40_002)).toBe(false);
    closed();
    closed();
    expect(other.isOwn(40_001)).toBe(true);
    again();
    expect(other.isOwn(40_001)).toBe(false);
  });

  it('ignores ports that are not ports, and refuses a buffer it did not make', () => {
    const ports = SharedUpstreamPorts.create();
    ports.opened(0)();
    ports.opened(70_000)();
    expect(ports.isOwn(0)).toBe(false);
    expect(ports.isOwn(-1)).toBe(false);
    expect(() => new SharedUpstreamPorts(new SharedArrayBuffer(16))).toThrow(/not a buffer made by/);
  });

  it('is seen by another thread at once', async () => {
    const ports = SharedUpstreamPorts.create();
    const closed = ports.opened(51_234);
    const code = `
      const { parentPort, workerData } = require('node:worker_threads');
      const words = new Int32Array(workerData);
      parentPort.postMessage({ pending: Atomics.load(words, 0), port: Atomics.load(words, 1 + 51234) });
    `;
    const seen = await new Promise<{ pending: number; port: number }>((resolve, reject) => {
      const worker = new Worker(code, { eval: true, workerData: ports.buffer });
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    expect(seen).toEqual({ pending: 0, port: 1 });
    closed();
  });
});
