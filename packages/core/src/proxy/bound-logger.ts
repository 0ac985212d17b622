import type { PluginLogger } from '@imspect/sdk';

type Level = 'trace' | 'debug' | 'info' | 'warn' | 'error';

/**
 * A connection's logger: its bindings (`conn`, `client`, `server`) merged into each record as it is written.
 *
 * A pino child per connection keeps a logger object, its serialised bindings and their formatters for the life
 * of the connection, on thousands of mostly silent IM sessions; this keeps one small object and the bindings, and
 * builds the merged record only for the few lines a connection writes (two at info; frames only with debug on).
 * The record has the same fields as a child's: the bindings first, then the call's.
 */
export class BoundLogger implements PluginLogger {
  constructor(
    private readonly parent: PluginLogger,
    private readonly bindings: Readonly<Record<string, unknown>>,
  ) {}

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

  child(bindings: Record<string, unknown>): PluginLogger {
    return new BoundLogger(this.parent, { ...this.bindings, ...bindings });
  }

  private write(level: Level, obj: unknown, msg: string | undefined): void {
    if (typeof obj === 'string') this.parent[level]({ ...this.bindings }, obj);
    else if (obj instanceof Error) this.parent[level]({ ...this.bindings, err: obj }, msg ?? obj.message);
    else if (typeof obj === 'object' && obj !== null) this.parent[level]({ ...this.bindings, ...obj }, msg);
    else this.parent[level]({ ...this.bindings }, msg);
  }
}
