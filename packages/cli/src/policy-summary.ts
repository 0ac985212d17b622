/**
 * The active policy in a few lines for the start banner and the "imspect started" log line: which filters run and
 * on which files, whether users get the monitoring notice, what a blocked sender is told, and what happens when a
 * filter fails, and what becomes of traffic imspect cannot read (`policy.unreadable`). Read from the configuration, so an operator sees at a glance which files govern the traffic.
 */
import path from 'node:path';

/** The filters' file option, by plugin name: what the file holds (the bundled filters; others say "file"). */
const FILE_KINDS: Record<string, { file: string; without: string }> = {
  'filter-badwords': { file: 'word list', without: 'no word list: nothing masked' },
  'filter-acl': { file: 'ACL file', without: 'no ACL file: everything allowed' },
  'filter-policy': { file: 'policy rules', without: 'inline rules' },
};

export interface PolicySummaryInput {
  /** Names of the filter plugins that loaded. */
  filters: readonly string[];
  /** Per-plugin configuration sections. */
  plugins: Readonly<Record<string, { options?: Record<string, unknown> | undefined } | undefined>>;
  /** Folder the plugins' relative file options are resolved against (the config file's). */
  baseDir: string;
  failMode: 'open' | 'closed';
  /** `policy.unreadable`: one action, or actions by protocol or kind with `default`. */
  unreadable: UnreadableAction | Readonly<Record<string, UnreadableAction>>;
  responses: {
    blocked: { enabled: boolean; text: string; rateLimitSeconds: number };
    notice: { enabled: boolean; text: string; file?: string | undefined; everyDays: number };
  };
}

type UnreadableAction = 'allow' | 'log' | 'block';

export interface PolicySummary {
  filters: string[];
  notice: string;
  blocked: string;
  failMode: string;
  unreadable: string;
}

const UNREADABLE_EFFECT: Record<UnreadableAction, string> = {
  allow: 'relayed, no event',
  log: 'relayed, one event per connection',
  block: 'closed, one blocked event per connection',
};

/** `log (relayed, one event per connection)`, or `qq block, tls log, default log` for actions by protocol or kind. */
function describeUnreadable(unreadable: PolicySummaryInput['unreadable']): string {
  if (typeof unreadable === 'string') return `${unreadable} (${UNREADABLE_EFFECT[unreadable]})`;
  const { default: fallback = 'log', ...named } = unreadable;
  const parts = Object.entries(named).map(([name, action]) => `${name} ${action}`);
  return [...parts, `default ${fallback}`].join(', ');
}

function describeFilter(name: string, input: PolicySummaryInput): string {
  const file = input.plugins[name]?.options?.['file'];
  const kind = FILE_KINDS[name];
  if (typeof file === 'string') return `${name} (${kind?.file ?? 'file'} ${path.resolve(input.baseDir, file)})`;
  return kind ? `${name} (${kind.without})` : name;
}

export function policySummary(input: PolicySummaryInput): PolicySummary {
  const { blocked, notice } = input.responses;
  return {
    filters: input.filters.map((name) => describeFilter(name, input)),
    notice: notice.enabled ? `on, every ${notice.everyDays} days, ${notice.file !== undefined ? `text from ${notice.file}` : JSON.stringify(notice.text)}` : 'off',
    blocked: blocked.enabled
      ? `reply ${JSON.stringify(blocked.text)}${blocked.rateLimitSeconds > 0 ? ` (at most one per user every ${blocked.rateLimitSeconds} s)` : ''}`
      : 'no reply',
    failMode: input.failMode === 'open' ? 'open (a failing filter forwards the frame)' : 'closed (a failing filter blocks the frame)',
    unreadable: describeUnreadable(input.unreadable),
  };
}
