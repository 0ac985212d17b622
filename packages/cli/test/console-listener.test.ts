/** The console's event listener runs in the relay loop: whatever it throws is logged as the console's, never passed on. */
import { describe, expect, it } from 'vitest';
import { guardedListener } from '../dist/console-start.js';

describe("the console's guarded event listener", () => {
  it('catches every throw, logs the first at once and the next at most every 10 s with the count, and lets later events through', () => {
    const logged: Array<{ obj: Record<string, unknown>; msg?: string }> = [];
    const log = {
      trace() {},
      debug() {},
      info() {},
      warn() {},
      error: (obj: object, msg?: string) => void logged.push({ obj: obj as Record<string, unknown>, ...(msg ? { msg } : {}) }),
      child() {
        return log;
      },
    };
    let fail = true;
    const seen: number[] = [];
    const listener = guardedListener((events) => {
      if (fail) throw new TypeError('cannot read the event');
      seen.push(events.length);
    }, log as never);
    for (let i = 0; i < 5; i++) expect(() => listener([])).not.toThrow();
    expect(logged).toHaveLength(1);
    expect(logged[0]!.msg).toMatch(/^console: its live view failed .*relaying and archiving go on/);
    expect(logged[0]!.obj['failures']).toBe(1);
    expect(JSON.stringify(logged[0]!.obj)).toContain('cannot read the event');
    fail = false;
    listener([{} as never, {} as never]);
    expect(seen).toEqual([2]);
  });
});
