import { describe, it, expect } from 'vitest';
import type { ImEvent } from '@imspect/sdk';
import { csvRow } from '../src/csv.js';
import { eventFields, eventRow } from '../src/row.js';
import { makeEvent } from './helpers.js';

/** Values that need quoting, defusing, or neither, for every text column. */
const NASTY = ['', 'plain', 'a,b', 'say "hi"', 'l1\nl2', 'cr\r', '=1+1', '+x', '-x', '@x', '\tx', '\rx', "'q", '日本語', '\0'];

function variants(): ImEvent[] {
  const out: ImEvent[] = [];
  NASTY.forEach((v, i) => {
    const w = NASTY[(i + 3) % NASTY.length]!;
    out.push(
      makeEvent({
        text: v,
        subtype: w as ImEvent['subtype'],
        conversation: v,
        deliveredText: w,
        categories: i % 3 === 0 ? [] : [v, w],
        data: i % 2 === 0 ? undefined : { key: v, n: i, flag: i % 4 === 1 },
        server: { host: i % 2 === 0 ? '2001:db8::1' : v, port: 6667 },
        client: i % 5 === 0 ? { ip: '::1', port: 1 } : { ip: v, port: 40000 + i },
        direction: i % 2 === 0 ? 'outgoing' : 'incoming',
        filtered: i % 2 === 1,
        id: i % 4 === 0 ? `id,${v}` : `0190f0c8-0000-7000-8000-${String(i).padStart(12, '0')}`,
      }),
      makeEvent({ type: 'file', file: { name: v, size: i }, data: { address: w, port: 5000 } }),
      makeEvent({ type: 'file', file: { name: w }, text: undefined }),
      makeEvent({ type: 'no-such-type' as ImEvent['type'], text: v, conversation: undefined, subtype: undefined }),
    );
  });
  return out;
}

describe('eventRow', () => {
  it('writes the same bytes as csvRow(eventFields(...)), with and without excelSafe', () => {
    const events = variants();
    expect(events.length).toBeGreaterThan(50);
    for (const event of events) {
      for (const timeMs of [Date.parse(event.at), -1500, 0, 1_700_000_000_999]) {
        expect(eventRow(event, timeMs)).toBe(csvRow(eventFields(event, timeMs)));
        expect(eventRow(event, timeMs, true)).toBe(csvRow(eventFields(event, timeMs, true)));
      }
    }
  });

  it('quotes and defuses only the network columns', () => {
    const row = eventRow(makeEvent({ text: '=cmd', id: '=id', conversation: 'a,b' }), 1_700_000_000_000, true);
    expect(row).toContain(",'=cmd,=id,");
    expect(row).toContain(',"a,b",');
  });
});
