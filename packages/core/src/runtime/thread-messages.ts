/**
 * What the main thread and the relay threads (runtime/relay-workers.ts, runtime/relay-thread.ts) say to each
 * other. Everything crosses by structured clone: plain data only.
 */
import type { AddressInfo } from 'node:net';
import type { MessagePort } from 'node:worker_threads';
import type { ImEvent } from '@imspect/sdk';
import type { ListenerConfig } from '../config/schema.js';
import type { LoadedConfig } from '../config/load.js';
import type { IdentityChange } from '../proxy/identity-records.js';
import type { LogRecordMessage } from './port-logger.js';
import type { HookTimeouts } from './plugin-host.js';
import type { PluginRecord } from './loader.js';

/** A relay thread's start-up data (`workerData`). */
export interface RelayThreadData {
  /** 0-based; the journal folder is `relay-<index>`. */
  index: number;
  loaded: LoadedConfig;
  /** What this thread binds: every listener but the forward ones, which only the first thread serves, on the ports the first thread got. */
  listeners: ListenerConfig[];
  pluginRoots: string[];
  builtinFrom?: string;
  debug: boolean;
  hookTimeouts?: Partial<HookTimeouts>;
  logLevel: string;
  /** The connection counts every thread admits through (net/shared-counts.ts). */
  sharedCounts?: SharedArrayBuffer;
  /** The transparent listeners' upstream ports of every thread (net/upstream-ports.ts). */
  upstreamPorts?: SharedArrayBuffer;
}

/** State the threads keep alike: each change made in one is applied in the others (and the notice saved by the main thread). */
export type SharedChange =
  | { kind: 'notice'; key: string; at: number }
  | { kind: 'blocked-reply'; key: string; at: number }
  | { kind: 'local-user'; from?: string; to?: string }
  | { kind: 'identity'; change: IdentityChange; clientIp: string };

export interface BoundListener {
  url: string;
  address: AddressInfo;
  config: ListenerConfig;
}

/** An error as it crosses threads: what the CLI needs to tell a configuration problem from a failure. */
export interface ThreadError {
  name: string;
  message: string;
  code?: string;
  stack?: string;
}

export type ThreadRequest = 'sessions' | 'reload' | 'stop-relay' | 'close';

export type FromThread =
  | LogRecordMessage
  | { type: 'bound'; listeners: BoundListener[] }
  | { type: 'ready'; plugins: PluginRecord[] }
  | { type: 'failed'; error: ThreadError }
  | { type: 'reply'; id: number; ok: boolean; value?: unknown; error?: ThreadError }
  | { type: 'share'; change: SharedChange }
  | { type: 'events'; events: ImEvent[] };

export type ToThread =
  | { type: 'setup'; consumers: string[]; journal: MessagePort }
  | { type: 'request'; id: number; what: ThreadRequest }
  | { type: 'share'; change: SharedChange }
  | { type: 'watch-events'; on: boolean };

export function toThreadError(error: unknown): ThreadError {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return { name: error.name, message: error.message, ...(typeof code === 'string' ? { code } : {}), ...(error.stack ? { stack: error.stack } : {}) };
  }
  return { name: 'Error', message: String(error) };
}

export function fromThreadError(error: ThreadError, prefix = ''): Error {
  const rebuilt = new Error(`${prefix}${error.message}`);
  rebuilt.name = error.name;
  if (error.code !== undefined) (rebuilt as { code?: string }).code = error.code;
  if (error.stack !== undefined) rebuilt.stack = error.stack;
  return rebuilt;
}
