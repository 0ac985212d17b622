import { describe, it, expect } from 'vitest';
import { EventSeconds } from '../src/event-time.js';

const floorSecond = (at: unknown) => {
  const ms = Date.parse(at as string);
  return Number.isNaN(ms) ? ms : Math.floor(ms / 1000) * 1000;
};

describe('EventSeconds', () => {
  it('gives Date.parse rounded down to the second, whatever order the times come in', () => {
    const times: unknown[] = [
      '2024-03-05T10:20:30.456Z',
      '2024-03-05T10:20:30.999Z',
      '2024-03-05T10:20:30.000Z',
      '2024-03-05T10:20:30.12xZ', // the last second's prefix, not a date
      '2024-03-05T10:20:30.1x2Z',
      '2024-03-05T10:20:30.x12Z',
      '2024-03-05T10:20:30.123X',
      '2024-03-05T10:20:30,123Z',
      '2024-03-05T10:20:30.456Z junk',
      '2024-03-05T10:20:30.456+02:00', // the prefix again, another zone
      '2024-03-05T10:20:30.4567Z',
      '2024-03-05T10:20:30Z',
      '2024-03-05T10:20:31.001Z',
      '2024-03-05T10:20:30.456Z',
      '1969-12-31T23:59:59.500Z', // before 1970: still rounded down
      '1969-12-31T23:59:59.999Z',
      '2024-02-30T10:20:30.456Z', // no such day
      '2024-02-30T10:20:30.457Z',
      '2024-03-05T24:00:00.000Z',
      'not a date',
      '',
      undefined,
      42,
      '+012024-03-05T10:20:30.456Z',
    ];
    const seconds = new EventSeconds();
    const got = times.map((at) => seconds.msOf(at));
    expect(got).toEqual(times.map(floorSecond));
    expect(got[0]).toBe(Date.parse('2024-03-05T10:20:30Z'));
    expect(got[3]).toBeNaN();
    expect(got[9]).toBe(Date.parse('2024-03-05T08:20:30Z'));
  });
});
