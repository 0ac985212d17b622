/** What the CLI prints of chatters' text: nothing in it may act on the terminal or reorder the line. */
import { describe, expect, it } from 'vitest';
import { testEvent } from '@imspect/core/testing';
import { circumventionLines, formatEvent } from '../src/replay-output.js';
import { terminalSafe } from '../src/terminal-text.js';

describe('terminalSafe', () => {
  it('shows escape sequences, C1 controls, bidi controls and separators as escapes', () => {
    expect(terminalSafe('\u001b]0;owned\u0007red \u001b[31mtext')).toBe('\\u{1b}]0;owned\\u{7}red \\u{1b}[31mtext');
    expect(terminalSafe('csi \u009b31m')).toBe('csi \\u{9b}31m');
    expect(terminalSafe('abc \u202edcba\u202c \u2067x\u2069')).toBe('abc \\u{202e}dcba\\u{202c} \\u{2067}x\\u{2069}');
    expect(terminalSafe('a\u2028b\u200bc\ufeff\u007f')).toBe('a\\u{2028}b\\u{200b}c\\u{feff}\\u{7f}');
    expect(terminalSafe('tab\there')).toBe('tab\\u{9}here');
  });

  it('keeps a result on one line and leaves other scripts and emoji alone', () => {
    expect(terminalSafe('first\r\nsecond\nthird')).toBe('first ⏎ second ⏎ third');
    expect(terminalSafe('héllo 你好 שלום 😀👍🏽 <b>&amp;</b>')).toBe('héllo 你好 שלום 😀👍🏽 <b>&amp;</b>');
  });

  it('covers the ids of a replayed event as well as its text', () => {
    const line = formatEvent(testEvent({ localId: 'ali\u001b[2Jce', remoteId: 'b\u202eob', text: 'hi\nthere' }));
    expect(line).toContain('ali\\u{1b}[2Jce -> b\\u{202e}ob: hi ⏎ there');
    expect(line).not.toMatch(/[\u001b\u202e\n]/);
  });

  it('covers the summary’s circumvention lines, whose reason may carry a CONNECT target from the traffic', () => {
    const lines = circumventionLines({
      circumvention: [
        {
          at: '2026-03-01T10:00:00.000Z',
          kind: 'unreadable',
          protocol: 'msn',
          client: '198.18.0.1:40000',
          server: '198.19.0.1:3128',
          localId: '',
          how: 'foreign-proxy',
          blocked: false,
          reason: 'msn through a proxy imspect does not run (CONNECT evil\u001b[2J.example:1863)',
          transport: 'tcp',
        },
      ],
      datagramFlows: [],
    });
    expect(lines.join('\n')).toContain('CONNECT evil\\u{1b}[2J.example:1863');
    expect(lines.join('\n')).not.toContain('\u001b');
  });
});
