import { mkdir, mkdtemp, realpath, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { ImEvent } from '@imspect/sdk';
import type { PluginLogger } from '@imspect/sdk';
import { cutRandom, testEvent } from '../src/testing/index.js';

export interface LogRecord {
  level: 'trace' | 'debug' | 'info' | 'warn' | 'error';
  obj: unknown;
  msg: string | undefined;
  bindings: Record<string, unknown>;
}

/** A logger that keeps every record, so tests can check what was reported (and by whom). */
export function recordingLogger(records: LogRecord[] = [], bindings: Record<string, unknown> = {}): PluginLogger & { records: LogRecord[] } {
  const at = (level: LogRecord['level']) => (obj: unknown, msg?: string) => {
    records.push({ level, obj, msg: typeof obj === 'string' && msg === undefined ? obj : msg, bindings });
  };
  return {
    records,
    trace: at('trace'),
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    child: (more) => recordingLogger(records, { ...bindings, ...more }),
  };
}

/** A fresh temporary folder (real path); remove it with `removeTempDirs`. */
const tempDirs: string[] = [];
export async function tempDir(prefix = 'imspect-core-test-'): Promise<string> {
  const dir = await realpath(await mkdtemp(path.join(os.tmpdir(), prefix)));
  tempDirs.push(dir);
  return dir;
}
export async function removeTempDirs(): Promise<void> {
  await Promise.all(tempDirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
}

/** Writes `files` (relative path -> content) below `root`, creating folders. */
export async function writeTree(root: string, files: Record<string, string>): Promise<void> {
  for (const [rel, content] of Object.entries(files)) {
    const file = path.join(root, rel);
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, content);
  }
}

export function listen(server: net.Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0 }, () => {
      server.off('error', reject);
      resolve((server.address() as net.AddressInfo).port);
    });
  });
}

export function closeServer(server: net.Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) return resolve();
    server.close(() => resolve());
  });
}

export function connect(port: number, options: { allowHalfOpen?: boolean } = {}): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port, allowHalfOpen: options.allowHalfOpen ?? false });
    socket.once('connect', () => {
      socket.off('error', reject);
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

/** Resolves with everything `socket` sends until it ends (or closes). */
export function readAll(socket: net.Socket): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.once('end', () => resolve(Buffer.concat(chunks)));
    socket.once('close', () => resolve(Buffer.concat(chunks)));
    socket.once('error', reject);
  });
}

/** Resolves once `socket` has sent at least `n` bytes in total; the bytes so far. */
export function readBytes(socket: net.Socket, n: number, timeoutMs = 10_000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`timed out waiting for ${n} bytes (got ${size}: ${JSON.stringify(Buffer.concat(chunks).toString('latin1').slice(0, 200))})`));
    }, timeoutMs);
    const onData = (c: Buffer) => {
      chunks.push(c);
      size += c.length;
      if (size >= n) {
        cleanup();
        resolve(Buffer.concat(chunks));
      }
    };
    const onEnd = () => {
      cleanup();
      reject(new Error(`stream ended after ${size} of ${n} bytes: ${JSON.stringify(Buffer.concat(chunks).toString('latin1').slice(0, 200))}`));
    };
    const cleanup = () => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.off('close', onEnd);
    };
    socket.on('data', onData);
    socket.once('end', onEnd);
    socket.once('close', onEnd);
  });
}

export function waitFor(predicate: () => boolean, timeoutMs = 5_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const tick = () => {
      if (predicate()) return resolve();
      if (Date.now() > deadline) return reject(new Error(`timed out waiting for ${what}`));
      setTimeout(tick, 5);
    };
    tick();
  });
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Deterministic pseudo-random numbers (mulberry32), so a failing chunking can be reproduced. */
export { seededRandom as rng } from '../src/testing/index.js';

/** Cuts `data` into random pieces of 1..maxPiece bytes, each its own copy (`cutRandom` gives views). */
export function randomChunks(data: Uint8Array, random: () => number, maxPiece: number): Buffer[] {
  return cutRandom(data, random, maxPiece).map((piece) => Buffer.from(piece));
}

let nextEventId = 0;

/** An outgoing message carrying `text`, with a fresh id each call (ids sort in the order events were made). */
export function textEvent(text: string): ImEvent {
  nextEventId++;
  return testEvent({
    id: `id-${String(nextEventId).padStart(6, '0')}`,
    protocol: 'test',
    localId: 'me',
    remoteId: 'you',
    text,
    client: { ip: '127.0.0.1', port: 1 },
    server: { host: '127.0.0.1', port: 2 },
  });
}

/** `n` events with texts `${prefix}0` .. `${prefix}${n - 1}`. */
export const textEvents = (n: number, prefix = 'e'): ImEvent[] => Array.from({ length: n }, (_, i) => textEvent(`${prefix}${i}`));
