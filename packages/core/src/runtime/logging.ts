import { createRequire } from 'node:module';
import type { Logger } from 'pino';

// pino and its pretty printer are loaded when the first logger is made, not when this module is: the quick
// commands import the entry that exports it (`@imspect/core/plugins`) and never log through it.
const require = createRequire(import.meta.url);
const loadPino = () => require('pino') as typeof import('pino');
const loadPretty = () => require('pino-pretty') as typeof import('pino-pretty');

export type OperationalLogger = Logger;

export interface LoggingOptions {
  level?: string;
  /** `pretty` for people at a terminal, `json` for log collectors. Default: pretty on a TTY. */
  format?: 'pretty' | 'json' | 'auto';
  /** Where JSON or pretty lines go. Default: standard error, so standard output stays free for results. */
  destination?: NodeJS.WritableStream;
}

/**
 * imspect's operational log (what the proxy is doing), not the conversation archive. Pretty printing runs in
 * the same thread (a synchronous stream) so nothing is lost when the process stops.
 */
export function createOperationalLogger(options: LoggingOptions = {}): OperationalLogger {
  const level = options.level ?? 'info';
  const destination = options.destination ?? process.stderr;
  const isTty = (destination as { isTTY?: boolean }).isTTY === true;
  const format = options.format === undefined || options.format === 'auto' ? (isTty ? 'pretty' : 'json') : options.format;
  if (format === 'pretty') {
    const pretty = loadPretty();
    const stream = pretty({
      destination: destination as never,
      colorize: isTty,
      sync: true,
      translateTime: 'SYS:HH:MM:ss.l',
      ignore: 'pid,hostname',
    });
    return loadPino().pino({ level, base: undefined }, stream);
  }
  // Level names and ISO times: what log collectors index without a pino-specific mapping.
  const { pino } = loadPino();
  return pino({ level, base: undefined, formatters: { level: (label) => ({ level: label }) }, timestamp: pino.stdTimeFunctions.isoTime }, destination as never);
}
