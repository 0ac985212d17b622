import { Command, Flags } from '@oclif/core';
import { filterFlags, openConfiguredArchive } from '../../archive-query.js';
import type { ArchivedMessage } from '@imspect/logger-sql';
import { configFlag, explain, failWith } from '../../shared.js';
import { terminalSafe } from '../../terminal-text.js';

/** `[status away (AWY)] back at 3`: a presence change in one line (the user's own marked `own`), else undefined. */
function presenceLine(m: ArchivedMessage): string | undefined {
  if (m.subtype !== 'status' || (m.type !== 'contact' && m.type !== 'other')) return undefined;
  const status = m.data?.['status'];
  if (status === undefined) return undefined;
  const code = m.data?.['protocol-status'];
  const description = m.data?.['description'];
  return `[${m.type === 'other' ? 'own ' : ''}status ${status}${code !== undefined && code !== status ? ` (${code})` : ''}]${description !== undefined ? ` ${description}` : ''}`;
}

export default class LogsSearch extends Command {
  static override summary = 'Search the SQL archive (logger-sql): by user, peer, words, protocol, network and time';
  static override description =
    "Reads the database the configuration's plugins.logger-sql section names (by default the SQLite file archive.sqlite in the data folder). Prints the newest matches (--limit), oldest first. Presence changes (statuses) are left out unless --presence include or only asks for them.";
  static override examples = [
    '<%= config.bin %> logs search --user alice --since 2h',
    '<%= config.bin %> logs search --with "#support" --text "invoice overdue" --limit 20',
    '<%= config.bin %> logs search --protocol irc --since 2026-11-01 --until 2026-11-02 --json',
    '<%= config.bin %> logs search --network irc.libera.chat --user alice',
    '<%= config.bin %> logs search --type other --type encrypted --since 7d',
    '<%= config.bin %> logs search --user alice --presence only --since 1d',
  ];
  static override enableJsonFlag = true;
  static override flags = {
    config: configFlag,
    ...filterFlags,
    limit: Flags.integer({ description: 'most results (the newest); 0 = all', default: 100, min: 0 }),
  };

  async run(): Promise<unknown> {
    const { flags } = await this.parse(LogsSearch);
    const { archive, query } = await openConfiguredArchive(flags.config, flags, flags.limit);
    let messages;
    try {
      messages = await archive.search(query);
    } catch (error) {
      await archive.close().catch(() => undefined);
      failWith(new Error(`search failed: ${explain(error)}`), 1);
    }
    await archive.close();
    if (!this.jsonEnabled()) {
      for (const m of messages) {
        const arrow = m.direction === 'outgoing' ? '->' : '<-';
        const what = m.type === 'message' ? (m.text ?? '') : (presenceLine(m) ?? `[${kind(m)}${m.fileName ? ` ${m.fileName}` : ''}]${m.text ? ` ${m.text}` : reasonOf(m)}`);
        // A message that reached several of the user's devices is one row; say which.
        const devices = m.devices.length > 1 ? `  [devices: ${m.devices.join(', ')}]` : '';
        // Ids and texts are the chatters' own: escaped, so nothing in them acts on the terminal (terminal-text.ts).
        this.log(terminalSafe(`${m.at}  ${m.protocol}  ${m.localId} ${arrow} ${m.remoteId}${m.filtered ? '  [blocked]' : ''}${devices}  ${what}`));
      }
      if (messages.length === 0) this.log('No matching events.');
    }
    return { count: messages.length, messages };
  }
}

/** Connection-level events say which kind they are: `other/circumvention`, `other/unreadable`, `encrypted/tls`. */
function kind(m: { type: string; subtype: string | null }): string {
  return (m.type === 'other' || m.type === 'encrypted') && m.subtype ? `${m.type}/${m.subtype}` : m.type;
}

/** What a connection-level event without text says about itself (its `reason`), e.g. "msn on a port that is not its own". */
function reasonOf(m: { data: Record<string, unknown> | null }): string {
  const reason = m.data?.['reason'];
  return typeof reason === 'string' && reason.length > 0 ? ` ${reason}` : '';
}
