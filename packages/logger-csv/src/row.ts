/**
 * The columns of one CSV row. The first eight are IMSpector's file-logging layout, in its order; the rest
 * are imspect's additions, appended so that tools reading IMSpector logs by position keep working.
 */
import { eventDataColumn, eventTypeCode, formatDataString, hostPort, type ImEvent } from '@imspect/sdk';
import { csvField, defuseFormula } from './csv.js';

export const COLUMNS = [
  'client address', // 1  client ip:port ([ip]:port for IPv6)
  'unix time', //      2  seconds since the epoch
  'outgoing', //       3  1 outgoing, 0 incoming
  'type', //           4  EVENT_TYPE_CODES: message=1 file=2 typing=3 webcam=4 login=5 ... other=11
  'filtered', //       5  1 when policy blocked it
  'categories', //     6  policy categories joined with ';'
  'event data', //     7  file: "name size"; other types: event.data as key=value items (formatDataString)
  'text', //           8  what the user typed
  'event id', //       9  imspect additions from here on
  'subtype', //        10 action, notice, dcc-send, groupchat, ...
  'conversation', //   11
  'delivered text', // 12 what reached the other side when a content plugin rewrote the text
  'server', //         13 server host:port
  'data', //           14 event.data as key=value items, for every type (column 7 holds the file for file events)
] as const;

/** Columns whose content comes from the network (defused by `excelSafe`). */
const TEXT_COLUMNS = new Set([5, 6, 7, 9, 10, 11, 12, 13]);

// Kept under the names this package exported before they moved to core.
export { eventTypeCode as typeCode, eventDataColumn as eventData } from '@imspect/sdk';

function str(value: unknown): string {
  return value === undefined || value === null ? '' : String(value);
}

/** The row's fields, unquoted. `timeMs` is the event's time already parsed by the caller. */
export function eventFields(event: Readonly<ImEvent>, timeMs: number, excelSafe = false): string[] {
  const fields = [
    hostPort(event.client?.ip, event.client?.port),
    String(Math.floor(timeMs / 1000)),
    event.direction === 'outgoing' ? '1' : '0',
    String(eventTypeCode(event.type)),
    event.filtered ? '1' : '0',
    (event.categories ?? []).map(str).join(';'),
    eventDataColumn(event),
    str(event.text),
    str(event.id),
    str(event.subtype),
    str(event.conversation),
    str(event.deliveredText),
    hostPort(event.server?.host, event.server?.port),
    formatDataString(event.data),
  ];
  return excelSafe ? fields.map((f, i) => (TEXT_COLUMNS.has(i) ? defuseFormula(f) : f)) : fields;
}

function defusedField(value: string): string {
  return csvField(defuseFormula(value));
}

/**
 * `csvRow(eventFields(event, timeMs, excelSafe))`, built as one string: the logger's hot path makes a row per
 * event, and the field array, the per-field quoting test of the columns that are always digits and the
 * categories' array cost as much as the rest of the row. Same bytes as the two-step form (tested).
 */
export function eventRow(event: Readonly<ImEvent>, timeMs: number, excelSafe = false): string {
  // The columns of TEXT_COLUMNS (network content) are defused when asked.
  const text = excelSafe ? defusedField : csvField;
  const categories = event.categories;
  return (
    csvField(hostPort(event.client?.ip, event.client?.port)) +
    // Columns 2-5 are digits only: nothing to quote or defuse.
    `,${Math.floor(timeMs / 1000)},${event.direction === 'outgoing' ? '1' : '0'},${eventTypeCode(event.type)},${event.filtered ? '1' : '0'},` +
    text(categories === undefined || categories === null || categories.length === 0 ? '' : categories.map(str).join(';')) +
    ',' +
    text(eventDataColumn(event)) +
    ',' +
    text(str(event.text)) +
    ',' +
    csvField(str(event.id)) +
    ',' +
    text(str(event.subtype)) +
    ',' +
    text(str(event.conversation)) +
    ',' +
    text(str(event.deliveredText)) +
    ',' +
    text(hostPort(event.server?.host, event.server?.port)) +
    ',' +
    text(formatDataString(event.data)) +
    '\n'
  );
}
