import { describe, it, expect } from 'vitest';
import { decodeSegment, encodeSegment, MAX_SEGMENT_BYTES } from '../src/segment.js';
import { HOSTILE_IDS } from './helpers.js';

describe('encodeSegment', () => {
  it('keeps ordinary and Unicode names readable', () => {
    for (const id of ['alice', 'bob@example.com', '#imspect', 'José', '李小龙', 'Ελένη', 'user name', 'a.b', '😀']) {
      expect(encodeSegment(id)).toEqual({ name: id, full: id, truncated: false });
    }
  });

  it('encodes the unsafe characters with uppercase UTF-8 percent escapes', () => {
    expect(encodeSegment('..').name).toBe('%2E%2E');
    expect(encodeSegment('.').name).toBe('%2E');
    expect(encodeSegment('...').name).toBe('%2E.%2E');
    expect(encodeSegment('../../etc').name).toBe('%2E.%2F..%2Fetc');
    expect(encodeSegment('a/b').name).toBe('a%2Fb');
    expect(encodeSegment('a\\b').name).toBe('a%5Cb');
    expect(encodeSegment('a\0b').name).toBe('a%00b');
    expect(encodeSegment('C:\\x').name).toBe('C%3A%5Cx');
    expect(encodeSegment('<>"|?*').name).toBe('%3C%3E%22%7C%3F%2A');
    expect(encodeSegment('100%').name).toBe('100%25');
    expect(encodeSegment('\x7f\x85').name).toBe('%7F%C2%85');
    expect(encodeSegment('\u202Eevil').name).toBe('%E2%80%AEevil');
    expect(encodeSegment('lone\uD800').name).toBe('lone%ED%A0%80');
    expect(encodeSegment('trailing.').name).toBe('trailing%2E');
    expect(encodeSegment('trailing ').name).toBe('trailing%20');
    expect(encodeSegment('').name).toBe('%');
  });

  it('escapes the first character of names reserved on Windows', () => {
    expect(encodeSegment('CON').name).toBe('%43ON');
    expect(encodeSegment('nul.txt').name).toBe('%6Eul.txt');
    expect(encodeSegment('COM1').name).toBe('%43OM1');
    expect(encodeSegment('console').name).toBe('console');
    expect(encodeSegment('COM10').name).toBe('COM10');
  });

  it('caps long ids at 200 bytes with a hash, and never lets two long ids collide', () => {
    const a = encodeSegment('x'.repeat(10 * 1024));
    const b = encodeSegment('x'.repeat(10 * 1024 - 1) + 'y');
    expect(a.truncated).toBe(true);
    expect(a.name).toMatch(/^x{158}%~[0-9a-f]{40}$/);
    expect(b.name).toMatch(/^x{158}%~[0-9a-f]{40}$/);
    expect(a.name).not.toBe(b.name);
    const wide = encodeSegment('😀'.repeat(3000));
    expect(Buffer.byteLength(wide.name)).toBeLessThanOrEqual(MAX_SEGMENT_BYTES);
    expect(wide.name).toMatch(/^(😀)+%~[0-9a-f]{40}$/u); // cut between characters
    const escaped = encodeSegment('/'.repeat(300));
    expect(escaped.name).toMatch(/^(%2F)+%~[0-9a-f]{40}$/); // never inside an escape
    expect(encodeSegment('x'.repeat(200)).truncated).toBe(false);
    expect(encodeSegment('x'.repeat(201)).truncated).toBe(true);
  });

  it('gives every hostile id a distinct, safe, decodable name', () => {
    const names = new Set<string>();
    for (const id of HOSTILE_IDS) {
      const { name, full, truncated } = encodeSegment(id);
      expect(name.length).toBeGreaterThan(0);
      expect(Buffer.byteLength(name)).toBeLessThanOrEqual(MAX_SEGMENT_BYTES);
      expect(name).not.toMatch(/[/\\\0-\x1f\x7f<>:"|?*]/);
      expect(name === '.' || name === '..' || name.startsWith('.')).toBe(false);
      expect(name).not.toMatch(/[. ]$/);
      expect(decodeSegment(full)).toBe(id);
      if (!truncated) expect(decodeSegment(name)).toBe(id);
      expect(names.has(name), JSON.stringify(id)).toBe(false);
      names.add(name);
    }
  });

  it('refuses to decode what it cannot have produced', () => {
    expect(() => decodeSegment('%zz')).toThrow(/not a valid/);
    expect(() => decodeSegment('abc%2')).toThrow(/not a valid/);
    expect(() => decodeSegment('%FF')).toThrow(/UTF-8/);
    expect(() => decodeSegment(encodeSegment('x'.repeat(500)).name)).toThrow(/truncated/);
  });
});
