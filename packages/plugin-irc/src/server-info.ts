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
    const statusChars = this.statusmsgFromServer
      ? this.statusmsg
      : [...this.statusmsg].filter((c) => !this.chantypes.includes(c)).join('');
    let statusEnd = 0;
    while (statusEnd < target.length && statusChars.includes(target[statusEnd]!)) statusEnd++;
    // The longest status prefix that leaves a channel name wins; a character that is both a status prefix
    // and a channel type (e.g. `&`) stays part of the name when no channel name follows it.
    for (let j = Math.min(statusEnd, target.length - 1); j >= 1; j--) {
      if (this.chantypes.includes(target[j]!)) {
        return { kind: 'channel', channel: target.slice(j), statusmsg: target.slice(0, j) };
      }
    }
    if (target.length > 0 && this.chantypes.includes(target[0]!)) {
      return { kind: 'channel', channel: target, statusmsg: '' };
    }
    return { kind: 'nick', nick: target };
  }

  /** Folds a nick or channel name for comparison, following CASEMAPPING. */
  fold(name: string): string {
    switch (this.caseMapping) {
      case 'ascii':
        return name.replace(/[A-Z]+/g, (s) => s.toLowerCase());
      case 'unicode':
        return name.toLowerCase();
      case 'strict-rfc1459':
        return name.replace(/[A-Z[\]\\]+/g, (s) => s.toLowerCase().replace(/\[/g, '{').replace(/]/g, '}').replace(/\\/g, '|'));
      default:
        return name.replace(/[A-Z[\]\\~]+/g, (s) =>
          s.toLowerCase().replace(/\[/g, '{').replace(/]/g, '}').replace(/\\/g, '|').replace(/~/g, '^'),
        );
    }
  }

  sameName(a: string, b: string): boolean {
    return a === b || this.fold(a) === this.fold(b);
  }
}
