/**
 * The active policy in a few lines for the start banner and the "imspect started" log line: which filters run and
 * on which files, whether users get the monitoring notice, what a blocked sender is told, and what happens when a
 * filter fails. Read from the configuration, so an operator sees at a glance which files govern the traffic.
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
  responses: {
    blocked: { enabled: boolean; text: string; rateLimitSeconds: number };
    notice: { enabled: boolean; text: string; file?: string | undefined; everyDays: number };
  };
}

export interface PolicySummary {
  filters: string[];
  notice: string;
  blocked: string;
  failMode: string;
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
  };
}
