/** What `imspect logs search` and `imspect logs export` share: the filter flags and opening the configured archive. */
import { Flags } from '@oclif/core';
import { existsSync } from 'node:fs';
import { canonicalProtocol, EVENT_TYPE_CODES } from '@imspect/core';
import { failWith, loadConfigOrExit } from './shared.js';

export const filterFlags = {
  user: Flags.string({ description: "the protected user (local id), exactly, or a name the user took (an IRC nick change): all of that identity's events", helpValue: 'ID' }),
  network: Flags.string({ description: 'the network the ids belong to (IRC: the server host the client connected to), case-insensitive', helpValue: 'NAME' }),
  with: Flags.string({ description: 'the other party, channel or conversation, exactly', helpValue: 'ID' }),
  text: Flags.string({ description: 'words that must all appear in the message text (full-text search, case-insensitive)', helpValue: 'WORDS' }),
  protocol: Flags.string({ description: 'protocol plugin name, e.g. irc (jabber is xmpp)', helpValue: 'P' }),
  since: Flags.string({ description: 'from this time on: ISO 8601 (2026-11-21, 2026-11-21T10:00:00Z), unix seconds, or 15m / 2h / 7d ago', helpValue: 'T' }),
  until: Flags.string({ description: 'before this time (same forms as --since)', helpValue: 'T' }),
  type: Flags.string({
    multiple: true,
    options: Object.keys(EVENT_TYPE_CODES),
    description:
      'only events of this type; repeat for several (other: client reports, nick changes, and circumvention attempts: IM on odd ports, over HTTP or proxies, and unreadable IM)',
    helpValue: 'TYPE',
  }),
  blocked: Flags.boolean({ description: 'only what policy blocked (filters, policy.unreadable)' }),
  presence: Flags.string({
    description: "presence changes (a contact's or the user's own status: online, away, ...): left out unless asked; include = with the other events, only = nothing else",
    options: ['exclude', 'include', 'only'],
    default: 'exclude',
    helpValue: 'exclude|include|only',
  }),
};

export interface FilterFlagValues {
  user?: string | undefined;
  network?: string | undefined;
  with?: string | undefined;
  text?: string | undefined;
  protocol?: string | undefined;
  since?: string | undefined;
  until?: string | undefined;
  type?: string[] | undefined;
  blocked?: boolean | undefined;
  presence?: string | undefined;
}

/**
 * Opens the archive the configuration's `plugins.logger-sql` section points at (the SQLite file in the data
 * folder by default) and turns the flags into a query; exits 2 on a bad configuration or time.
 */
export async function openConfiguredArchive(configFile: string | undefined, flags: FilterFlagValues, limit: number) {
  const sql = await import('@imspect/logger-sql');
  const loaded = await loadConfigOrExit(configFile);
  const section = loaded.config.plugins['logger-sql'];
  let target;
  try {
    target = sql.resolveTarget(section?.options as Record<string, unknown> | undefined, loaded.dataDir);
  } catch (error) {
    failWith(new Error(`${loaded.file ?? '(embedded defaults)'}: plugins.logger-sql.${(error as Error).message}`), 2);
  }
  if (target.kind === 'sqlite' && !existsSync(target.file)) {
    failWith(new Error(`no archive at ${target.file} yet (imspect start creates it with the first event; see plugins.logger-sql in the configuration)`), 1);
  }
  let query;
  try {
    query = {
      ...(flags.user !== undefined ? { user: flags.user } : {}),
      ...(flags.network !== undefined ? { network: flags.network } : {}),
      ...(flags.with !== undefined ? { with: flags.with } : {}),
      ...(flags.text !== undefined ? { text: flags.text } : {}),
      // `jabber` finds what the archive stores as `xmpp`.
      ...(flags.protocol !== undefined ? { protocol: canonicalProtocol(flags.protocol) } : {}),
      ...(flags.since !== undefined ? { sinceMs: sql.parseTime(flags.since) } : {}),
      ...(flags.until !== undefined ? { untilMs: sql.parseTime(flags.until) } : {}),
      ...(flags.type !== undefined && flags.type.length > 0 ? { types: flags.type } : {}),
      ...(flags.blocked ? { blocked: true } : {}),
      ...(flags.presence !== undefined ? { presence: flags.presence as 'exclude' | 'include' | 'only' } : {}),
      limit,
    };
  } catch (error) {
    failWith(error, 2);
  }
  // In this process, not in a worker: the CLI relays no traffic, and `iterate` pages through large exports.
  const { SqlArchive } = await import('@imspect/logger-sql/archive');
  return { archive: new SqlArchive(target), query, where: sql.describeTarget(target) };
}
