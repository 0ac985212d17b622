/** The archive's rows as a CSV or JSONL export, one row at a time. */
import type { ArchivedMessage } from '@imspect/logger-sql';

export const CSV_COLUMNS = [
  'at',
  'protocol',
  'network',
  'direction',
  'type',
  'subtype',
  'local_id',
  'remote_id',
  'conversation',
  'text',
  'delivered_text',
  'file_name',
  'file_size',
  'blocked',
  'categories',
  'client',
  'server',
  'event_id',
] as const;

/**
 * One CSV field (RFC 4180). A field a spreadsheet would take for a formula (`=`, `+`, `-`, `@`, tab, CR at its
 * start) gets a leading apostrophe: an exported message must never run as a formula in the reader's spreadsheet.
 */
export function csvField(value: string | number | boolean | null | undefined): string {
  if (value === null || value === undefined) return '';
  let text = String(value);
  if (typeof value === 'string' && /^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) || text !== text.trim() ? `"${text.replaceAll('"', '""')}"` : text;
}

export function csvHeader(): string {
  return `${CSV_COLUMNS.join(',')}\r\n`;
}

export function csvRow(m: ArchivedMessage): string {
  return `${[
    m.at,
    m.protocol,
    m.network,
    m.direction,
    m.type,
    m.subtype,
    m.localId,
    m.remoteId,
    m.conversation,
    m.text,
    m.deliveredText,
    m.fileName,
    m.fileSize,
    m.filtered ? 1 : 0,
    m.categories.join(';'),
    m.client,
    m.server,
    m.eventId,
  ]
    .map(csvField)
    .join(',')}\r\n`;
}

export function jsonlRow(m: ArchivedMessage): string {
  return `${JSON.stringify(m)}\n`;
}
