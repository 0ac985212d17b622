import { once } from 'node:events';
import type { Writable } from 'node:stream';

/**
 * The reader of the output went away (`imspect logs export | head`): EPIPE from the pipe, or a write to the
 * stream that error already destroyed. Not a failure of the command: the reader has what it wanted.
 */
export function isClosedOutput(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'EPIPE' || code === 'ERR_STREAM_DESTROYED' || code === 'ERR_STREAM_WRITE_AFTER_END';
}

/**
 * A writer for a streamed output that honours back-pressure and reports the stream's error on the next write
 * (a pipe's EPIPE arrives as an `error` event after the write that met it), so that the producer stops.
 */
export function outputWriter(out: Writable): (text: string) => Promise<void> {
  let failure: unknown;
  out.on('error', (error) => (failure ??= error));
  return async (text) => {
    if (failure !== undefined) throw failure;
    if (out.destroyed) throw Object.assign(new Error('the output is closed'), { code: 'ERR_STREAM_DESTROYED' });
    if (!out.write(text)) await once(out, 'drain');
    if (failure !== undefined) throw failure;
  };
}
