import type { PluginLogger } from '../plugin.js';

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error';

/** One recorded log call: its level, message, the child loggers' bindings and the object logged, merged. */
export interface LogLine {
  level: LogLevel;
  msg?: string;
  [key: string]: unknown;
}

/** A `PluginLogger` that records every call instead of writing it, for asserting what a plugin logs. */
export interface RecordingLogger extends PluginLogger {
  /** Every line logged through this logger and its children, in order (shared by the whole family). */
  readonly lines: LogLine[];
  child(bindings: Record<string, unknown>): RecordingLogger;
  /** The lines of one level. */
  at(level: LogLevel): LogLine[];
  /** Everything logged, one JSON line each: for checking that a secret never reaches the log. */
  text(): string;
  clear(): void;
}

/**
 * A logger that records what a plugin logs, with pino's calling conventions: `info(obj, msg)`, `info(msg)`,
 * `error(err, msg)` (an Error is recorded as `err`), and `child(bindings)` whose lines carry the bindings.
 *
 * ```ts
 * const logger = recordingLogger();
 * logger.child({ plugin: 'badwords' }).warn({ file: 'words.txt' }, 'rules file missing');
 * logger.lines; // [{ level: 'warn', plugin: 'badwords', file: 'words.txt', msg: 'rules file missing' }]
 * ```
 */
export function recordingLogger(bindings: Record<string, unknown> = {}): RecordingLogger {
  return makeLogger([], bindings);
}

function makeLogger(lines: LogLine[], bindings: Record<string, unknown>): RecordingLogger {
  const log =
    (level: LogLevel) =>
    (obj: unknown, msg?: string): void => {
      const line: LogLine = { level, ...bindings };
      if (typeof obj === 'string' && msg === undefined) line.msg = obj;
      else {
        if (obj instanceof Error) line['err'] = obj;
        else if (typeof obj === 'object' && obj !== null) Object.assign(line, obj);
        else if (obj !== undefined) line['value'] = obj;
        if (msg !== undefined) line.msg = msg;
      }
      lines.push(line);
    };
  return {
    lines,
    trace: log('trace'),
    debug: log('debug'),
    info: log('info'),
    warn: log('warn'),
    error: log('error'),
    child: (more) => makeLogger(lines, { ...bindings, ...more }),
    at: (level) => lines.filter((line) => line.level === level),
    text: () => lines.map((line) => JSON.stringify(line, (_key, value: unknown) => (value instanceof Error ? { message: value.message, stack: value.stack } : value))).join('\n'),
    clear: () => {
      lines.length = 0;
    },
  };
}
