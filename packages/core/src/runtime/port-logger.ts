/**
 * The operational log of a relay thread: every record is posted to the main thread, which writes it with its own
 * logger (level, format and destination as configured), tagged with the thread. A thread writing to standard
 * output itself would interleave half lines with the main thread's and lose what it buffered at exit.
 */
import type { PluginLogger } from '@imspect/sdk';

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal';

export interface LogRecordMessage {
  type: 'log';
  level: LogLevel;
  obj: unknown;
  msg?: string;
}

const ORDER: Record<LogLevel, number> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60 };

/** Errors become plain objects (type, code, message, stack): structured cloning keeps little of an Error, and a driver's error may carry secrets in its other members. */
function plain(value: unknown, depth = 0): unknown {
  if (value instanceof Error) {
    const code = (value as NodeJS.ErrnoException).code;
    return { type: value.name, message: value.message, ...(code !== undefined ? { code } : {}), ...(value.stack ? { stack: value.stack } : {}) };
  }
  if (depth > 3 || value === null || typeof value !== 'object') return typeof value === 'function' || typeof value === 'symbol' ? String(value) : value;
  if (Array.isArray(value)) return value.map((item) => plain(item, depth + 1));
  if (value instanceof Uint8Array) return `<${value.byteLength} bytes>`;
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) out[key] = plain(item, depth + 1);
  return out;
}

export class PortLogger implements PluginLogger {
  private readonly threshold: number;

  constructor(
    private readonly post: (record: LogRecordMessage) => void,
    private readonly level: string,
    private readonly bindings: Record<string, unknown> = {},
  ) {
    this.threshold = ORDER[level as LogLevel] ?? ORDER.info;
  }

  private write(level: LogLevel, obj: unknown, msg?: string): void {
    if (ORDER[level] < this.threshold) return;
    let fields: unknown;
    let text = msg;
    if (typeof obj === 'string' && msg === undefined) {
      text = obj;
      fields = { ...this.bindings };
    } else if (obj instanceof Error) {
      fields = { ...this.bindings, err: plain(obj) };
    } else {
      fields = { ...this.bindings, ...(plain(obj) as Record<string, unknown>) };
    }
    try {
      this.post({ type: 'log', level, obj: fields, ...(text !== undefined ? { msg: text } : {}) });
    } catch {
      // The port is closed (the thread is ending): nothing left to write to.
    }
  }

  trace(obj: unknown, msg?: string): void {
    this.write('trace', obj, msg);
  }
  debug(obj: unknown, msg?: string): void {
    this.write('debug', obj, msg);
  }
  info(obj: unknown, msg?: string): void {
    this.write('info', obj, msg);
  }
  warn(obj: unknown, msg?: string): void {
    this.write('warn', obj, msg);
  }
  error(obj: unknown, msg?: string): void {
    this.write('error', obj, msg);
  }
  fatal(obj: unknown, msg?: string): void {
    this.write('fatal', obj, msg);
  }
  /** A logger with more bindings, at the same level, posting to the same port. */
  child(bindings: Record<string, unknown>): PluginLogger {
    return new PortLogger(this.post, this.level, { ...this.bindings, ...bindings });
  }
}
