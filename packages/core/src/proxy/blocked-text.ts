/**
 * The blocked reply names what was stopped and why: `responses.blocked.text` with placeholders filled from the
 * blocked event and the filters' verdicts. The quoted words are the user's own text, so they are made one line
 * of printable characters here; each protocol's `respond` still escapes for its own framing (IRC lines and CTCP,
 * XML).
 */
import type { ImEvent } from '@imspect/sdk';

/** How many characters of a blocked message the reply quotes before an ellipsis. */
export const QUOTED_CHARACTERS = 40;

/** The placeholders `responses.blocked.text` may use. */
export const BLOCKED_PLACEHOLDERS = ['what', 'category', 'reason'] as const;

/** One line of at most `limit` characters (code points), control characters as spaces, `…` when cut. */
export function quoteSnippet(text: string, limit = QUOTED_CHARACTERS): string {
  const line = text
    .replace(/[\p{Cc}\p{Zl}\p{Zp}\u200e\u200f\u202a-\u202e\u2066-\u2069]+/gu, ' ')
    .replace(/ {2,}/g, ' ')
    .trim();
  const chars = [...line];
  return chars.length > limit ? `${chars.slice(0, limit).join('').trimEnd()}…` : line;
}

/** What was stopped, in a few words: `message "first words…" to carol`, `file "report.pdf" to bob`, `join #secret`. */
export function describeBlocked(event: Readonly<ImEvent>): string {
  const peer = quoteSnippet(event.remoteId, 80);
  const towards = peer.length === 0 || peer === '*' ? '' : event.direction === 'outgoing' ? ` to ${peer}` : ` from ${peer}`;
  switch (event.type) {
    case 'message':
      return event.text === undefined ? `message${towards}` : `message "${quoteSnippet(event.text)}"${towards}`;
    case 'file':
      return event.file?.name ? `file "${quoteSnippet(event.file.name, 80)}"${towards}` : `file transfer${towards}`;
    case 'join':
      return `join ${peer}`;
    case 'leave':
      return `leave ${peer}`;
    case 'login':
    case 'logout':
      return event.type;
    default:
      return `${event.type}${towards}`;
  }
}

/** The reply with `{what}`, `{category}` and `{reason}` filled in (one pass: a value is never expanded again). */
export function fillBlockedText(template: string, event: Readonly<ImEvent>, reasons: readonly string[]): string {
  const category = event.categories.length > 0 ? event.categories.join(', ') : 'policy';
  const values: Record<(typeof BLOCKED_PLACEHOLDERS)[number], string> = {
    what: describeBlocked(event),
    category: quoteSnippet(category, 200),
    reason: reasons.length > 0 ? quoteSnippet([...new Set(reasons)].join('; '), 200) : quoteSnippet(category, 200),
  };
  return template.replace(/\{(what|category|reason)\}/g, (_all, name: keyof typeof values) => values[name]);
}
