import { describe, it, expect } from 'vitest';
import { csvField, csvRow, defuseFormula } from '../src/csv.js';
import { parseCsv } from './helpers.js';

describe('RFC 4180 fields', () => {
  it('quotes only what needs it and doubles quotes', () => {
    expect(csvField('plain text')).toBe('plain text');
    expect(csvField('')).toBe('');
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('line1\nline2')).toBe('"line1\nline2"');
    expect(csvField('cr\rhere')).toBe('"cr\rhere"');
    expect(csvField('"')).toBe('""""');
    expect(csvRow(['a', 'b,c', ''])).toBe('a,"b,c",\n');
  });

  it('reads back what it writes', () => {
    const fields = ['', ',', '"', '""', '\r\n', '\n', '\r', 'a,"b"\r\nc', ' spaced ', '日本語', '\0'];
    expect(parseCsv(csvRow(fields) + csvRow(['x']))).toEqual([fields, ['x']]);
  });

  it('defuses formulas only on request', () => {
    expect(defuseFormula('=1+1')).toBe("'=1+1");
    expect(defuseFormula('+1')).toBe("'+1");
    expect(defuseFormula('-1')).toBe("'-1");
    expect(defuseFormula('@SUM(A1)')).toBe("'@SUM(A1)");
    expect(defuseFormula('\tx')).toBe("'\tx");
    expect(defuseFormula('a=1')).toBe('a=1');
  });
});
