import { formatDataString, type ImEvent } from '@imspect/core';
import type { ReplaySummary } from '@imspect/core/runtime';
import { terminalSafe } from './terminal-text.js';

/** One event as a line for people: time, protocol, direction, type, who to whom, and what. */
export function formatEvent(event: ImEvent): string {
  const arrow = event.direction === 'outgoing' ? '->' : '<-';
  const type = event.subtype ? `${event.type}/${event.subtype}` : event.type;
  const what = event.file ? `${event.file.name}${event.file.size !== undefined ? ` (${event.file.size} bytes)` : ''}` : (event.text ?? formatDataString(event.data));
  const flags = event.filtered ? ' [blocked]' : '';
  // Ids and texts are the chatters' own: escaped, so nothing in them acts on the terminal (terminal-text.ts).
  return terminalSafe(`${event.at} ${event.protocol} ${type} ${event.localId} ${arrow} ${event.remoteId}${flags}${what ? `: ${what}` : ''}`);
}

function counts(record: Record<string, number>): string {
  const entries = Object.entries(record).sort((a, b) => b[1] - a[1]);
  return entries.length === 0 ? 'none' : entries.map(([k, v]) => `${k} ${v}`).join(', ');
}

/** Most connection ids listed per protocol on the summary's line (all are in the notes and in --json). */
const SILENT_IDS_SHOWN = 10;

/**
 * Per protocol, the connections that carried its traffic but gave no events, so that a quiet report is not read
 * as "nothing happened": `msn 2 (connections 3, 7; 5120 bytes)`.
 */
function silentLine(summary: ReplaySummary): string {
  const entries = Object.entries(summary.silentByProtocol).sort((a, b) => b[1].connections - a[1].connections);
  if (entries.length === 0) return 'none';
  return entries
    .map(([protocol, s]) => {
      const ids = s.ids.slice(0, SILENT_IDS_SHOWN).join(', ') + (s.ids.length > SILENT_IDS_SHOWN ? ', ...' : '');
      return `${protocol} ${s.connections} (connection${s.connections === 1 ? '' : 's'} ${ids}; ${s.bytes} bytes)`;
    })
    .join(', ');
}

/** Most circumvention attempts listed one by one (all are in --json and in the events). */
const ATTEMPTS_SHOWN = 50;

/**
 * IM that went around the IM ports or could not be read: `circumvention attempts (3):` then one line each, e.g.
 * `msn 10.0.0.5:50123 -> 192.0.2.7:80 alice@example.com: odd-port,http` or `qq ... 12345 [blocked]: QQ ...`.
 */
export function circumventionLines(summary: Pick<ReplaySummary, 'circumvention' | 'datagramFlows'>): string[] {
  const lines: string[] = [];
  for (const a of summary.circumvention) {
    // UDP flows are listed below, with their packet counts.
    if (a.transport === 'udp') continue;
    const flag = a.blocked ? ' [blocked]' : '';
    const what = a.kind === 'circumvention' ? (a.how ?? '') : `unreadable${a.how ? ` (${a.how})` : ''}: ${a.reason ?? ''}`;
    // The id and the reason (a CONNECT target, for one) come from the traffic: escaped as event lines are.
    lines.push(terminalSafe(`${a.protocol} ${a.client} -> ${a.server}${a.localId ? ` ${a.localId}` : ''}${flag}: ${what}`));
  }
  for (const f of summary.datagramFlows) {
    lines.push(
      `${f.protocol} over UDP ${f.client} -> ${f.server} ${f.qqNumber}${f.action === 'block' ? ' [blocked]' : ''}: ${f.packets} packet${f.packets === 1 ? '' : 's'}, recognised, not parsed`,
    );
  }
  if (lines.length === 0) return ['  circumvention attempts:  none'];
  const shown = lines.slice(0, ATTEMPTS_SHOWN).map((line) => `    ${line}`);
  if (lines.length > ATTEMPTS_SHOWN) shown.push(`    ... and ${lines.length - ATTEMPTS_SHOWN} more (--json lists them all)`);
  return [`  circumvention attempts (${lines.length}):`, ...shown];
}

/**
 * Per protocol, events from connections joined mid-way whose ids no captured login told: `msn inferred 4,
 * unknown 2` (an unknown id is `*@<client address>`).
 */
function identityLine(summary: ReplaySummary): string {
  const entries = Object.entries(summary.identityByProtocol ?? {});
  if (entries.length === 0) return 'none';
  return entries.map(([protocol, n]) => `${protocol} inferred ${n.inferred}, unknown ${n.unknown}`).join('; ');
}

/** The summary for people: totals, then every anomaly with the connection it happened on. */
export function formatSummary(summary: ReplaySummary, toLoggers: boolean): string {
  const lines: string[] = [];
  const stats = summary.stats;
  const events = Object.values(summary.eventsByType).reduce((a, b) => a + b, 0);
  lines.push('');
  lines.push(
    `Replayed ${summary.file}: ${stats ? `${stats.packets} packets (${stats.tcpPackets} TCP), ` : ''}${summary.connections.length} TCP connections, ${events} events${toLoggers ? ' written to the loggers' : ''}`,
  );
  lines.push(`  connections by protocol: ${counts(summary.connectionsByProtocol)}`);
  lines.push(`  events by type:          ${counts(summary.eventsByType)}`);
  lines.push(`  IM without events:       ${silentLine(summary)}`);
  lines.push(`  ids without a login:     ${identityLine(summary)}`);
  lines.push(...circumventionLines(summary));
  const notes: string[] = [];
  for (const c of summary.connections) {
    const name = `connection ${c.id} (${c.client} -> ${c.server}${c.protocol ? `, ${c.protocol}` : ''})`;
    if (c.silent) notes.push(`${name}: ${c.bytes.outgoing + c.bytes.incoming} bytes of ${c.protocol} traffic gave no events`);
    if (c.midstream) notes.push(`${name}: its start was not captured; parsing began mid-stream`);
    if (c.encrypted === 'starttls') notes.push(`${name}: switched to TLS (STARTTLS); the rest is encrypted and not visible`);
    if (c.encrypted === 'tls-port' || c.encrypted === 'tls') notes.push(`${name}: encrypted (TLS); content not visible`);
    for (const gap of c.anomalies) notes.push(`${name}: ${gap.bytesMissing} bytes missing ${gap.direction} at stream offset ${gap.offset}`);
    for (const error of c.protocolErrors) notes.push(`${name}: protocol error ${error.code} (${error.direction}): ${error.message}`);
    if (c.closed === 'end-of-capture') notes.push(`${name}: still open at the end of the capture (truncated stream)`);
  }
  for (const anomaly of summary.fileAnomalies) notes.push(`capture: ${anomaly}`);
  if (summary.error) notes.push(`capture: reading stopped: ${summary.error.message}`);
  if (notes.length > 0) {
    lines.push(`  gaps and anomalies (${notes.length}):`);
    for (const note of notes) lines.push(`    ${note}`);
  } else lines.push('  gaps and anomalies: none');
  return `${lines.join('\n')}\n`;
}

/** The summary as plain data for `--json`. */
export function summaryJson(summary: ReplaySummary): Record<string, unknown> {
  return {
    file: summary.file,
    stats: summary.stats ?? null,
    connectionsByProtocol: summary.connectionsByProtocol,
    silentByProtocol: summary.silentByProtocol,
    identityByProtocol: summary.identityByProtocol,
    eventsByType: summary.eventsByType,
    connections: summary.connections,
    circumvention: summary.circumvention,
    datagramFlows: summary.datagramFlows,
    fileAnomalies: summary.fileAnomalies,
    error: summary.error ? { code: (summary.error as { code?: string }).code ?? null, message: summary.error.message } : null,
  };
}
