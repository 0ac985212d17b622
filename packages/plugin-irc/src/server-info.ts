/**
 * What the server told us about itself in `005` (RPL_ISUPPORT): which characters start a channel name,
 * which status prefixes may precede one (`@#chan` = to the channel's operators), and how nicks compare.
 */

export type Target = { kind: 'channel'; channel: string; statusmsg: string } | { kind: 'nick'; nick: string };

type CaseMapping = 'ascii' | 'rfc1459' | 'strict-rfc1459' | 'unicode';

export class ServerInfo {
  chantypes = '#&';
  /**
   * STATUSMSG prefixes. Until the server names them, `@` and `+` are accepted: no nick can start with them,
   * so reading `@#chan` as a status message to `#chan` cannot misread a nick.
   */
  statusmsg = '@+';
  private statusmsgFromServer = false;
  caseMapping: CaseMapping = 'rfc1459';

  /** Applies `005` tokens (`KEY=VALUE`, `KEY`, `-KEY`). */
  applyIsupport(tokens: readonly string[]): void {
    for (const token of tokens) {
      if (token.includes(' ') || token.length === 0) continue;
      const negated = token.startsWith('-');
      const eq = token.indexOf('=');
      const key = (negated ? token.slice(1) : eq < 0 ? token : token.slice(0, eq)).toUpperCase();
      const value = negated || eq < 0 ? undefined : token.slice(eq + 1);
      switch (key) {
        case 'CHANTYPES':
          this.chantypes = negated ? '#&' : (value ?? '');
          break;
        case 'STATUSMSG':
          this.statusmsgFromServer = !negated;
          this.statusmsg = negated ? '@+' : (value ?? '');
          break;
        case 'CASEMAPPING': {
          const v = (value ?? '').toLowerCase();
          this.caseMapping =
            negated || v === 'rfc1459'
              ? 'rfc1459'
              : v === 'ascii'
                ? 'ascii'
                : v === 'strict-rfc1459'
                  ? 'strict-rfc1459'
                  : v === 'rfc7613' || v === 'rfc8265'
                    ? 'unicode'
                    : 'rfc1459';
          break;
        }
      }
    }
  }

  /** Classifies a message target: a channel (after an optional STATUSMSG prefix) or a nick. */
  classify(target: string): Target {
    const statusChars = this.statusChars();
    const chantypes = this.chantypes;
    let statusEnd = 0;
    while (statusEnd < target.length && statusChars.includes(target[statusEnd]!)) statusEnd++;
    // The longest status prefix that leaves a channel name wins; a character that is both a status prefix
    // and a channel type (e.g. `&`) stays part of the name when no channel name follows it.
    for (let j = Math.min(statusEnd, target.length - 1); j >= 1; j--) {
      if (chantypes.includes(target[j]!)) {
        return { kind: 'channel', channel: target.slice(j), statusmsg: target.slice(0, j) };
      }
    }
    if (target.length > 0 && chantypes.includes(target[0]!)) {
      return { kind: 'channel', channel: target, statusmsg: '' };
    }
    return { kind: 'nick', nick: target };
  }

  /** Folds a nick or channel name for comparison, following CASEMAPPING. */
  fold(name: string): string {
    if (this.caseMapping === 'unicode') return name.toLowerCase();
    const table = FOLD_TABLES[this.caseMapping];
    let i = 0;
    for (; i < name.length; i++) {
      const c = name.charCodeAt(i);
      if (c < 0x80 && table[c] !== c) break;
    }
    if (i === name.length) return name; // nothing to fold: no new string
    let out = name.slice(0, i);
    for (; i < name.length; i++) {
      const c = name.charCodeAt(i);
      out += c < 0x80 ? FOLD_CHARS[table[c]!]! : name[i]!;
    }
    return out;
  }

  sameName(a: string, b: string): boolean {
    if (a === b) return true;
    if (this.caseMapping === 'unicode') return a.toLowerCase() === b.toLowerCase();
    // The other mappings fold one character to one character: compare in place, without folding copies.
    if (a.length !== b.length) return false;
    const table = FOLD_TABLES[this.caseMapping];
    for (let i = 0; i < a.length; i++) {
      const x = a.charCodeAt(i);
      const y = b.charCodeAt(i);
      if (x === y) continue;
      if (x >= 0x80 || y >= 0x80 || table[x] !== table[y]) return false;
    }
    return true;
  }

  /** STATUSMSG characters that may precede a channel name (cached; recomputed when the settings change). */
  private statusChars(): string {
    const cache = this.statusCache;
    if (cache !== undefined && cache.statusmsg === this.statusmsg && cache.chantypes === this.chantypes && cache.fromServer === this.statusmsgFromServer) {
      return cache.chars;
    }
    const chars = this.statusmsgFromServer ? this.statusmsg : [...this.statusmsg].filter((c) => !this.chantypes.includes(c)).join('');
    this.statusCache = { statusmsg: this.statusmsg, chantypes: this.chantypes, fromServer: this.statusmsgFromServer, chars };
    return chars;
  }

  private statusCache: { statusmsg: string; chantypes: string; fromServer: boolean; chars: string } | undefined;
}

/** ASCII folding per mapping: code -> folded code. Characters from 0x80 on fold to themselves. */
function foldTable(extra: Record<string, string>): Uint8Array {
  const table = new Uint8Array(0x80);
  for (let c = 0; c < 0x80; c++) table[c] = c >= 0x41 && c <= 0x5a ? c + 0x20 : c;
  for (const [from, to] of Object.entries(extra)) table[from.charCodeAt(0)] = to.charCodeAt(0);
  return table;
}

const FOLD_TABLES: Record<Exclude<CaseMapping, 'unicode'>, Uint8Array> = {
  ascii: foldTable({}),
  'strict-rfc1459': foldTable({ '[': '{', ']': '}', '\\': '|' }),
  rfc1459: foldTable({ '[': '{', ']': '}', '\\': '|', '~': '^' }),
};
const FOLD_CHARS = Array.from({ length: 0x80 }, (_, c) => String.fromCharCode(c));
