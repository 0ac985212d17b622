/** An event as a `messages` row, and a row back as a search result. */
import { createHash } from 'node:crypto';
// The SDK's light parts only: this module runs in the SQLite worker too (see store.ts).
import type { EventData, ImEvent } from '@imspect/sdk/event';
import { dataValue, messageCopyIdentity, parseDataString, toEventData } from '@imspect/sdk/event-data';
import { eventDataColumn, eventTypeCode, hostPort } from '@imspect/sdk/log-columns';
import type { MessageRow } from './schema.js';

/** MySQL indexes whole columns only up to 3072 bytes: id columns there hold at most this many characters. */
export const MYSQL_ID_CHARS = 700;

function str(value: unknown): string {
  return value === undefined || value === null ? '' : String(value);
}

// Kept under the names this package exported before they moved to core.
export { eventTypeCode as typeCode, eventDataColumn as eventData } from '@imspect/sdk/log-columns';

/** The database keeps what a string can hold: NUL characters (which PostgreSQL text rejects) are dropped. */
function clean(value: string): string {
  return value.includes('\u0000') ? value.replaceAll('\u0000', '') : value;
}
function cleanOrNull(value: string | undefined): string | null {
  return value === undefined || value === null ? null : clean(String(value));
}

export function toRow(event: Readonly<ImEvent>, idChars = Number.POSITIVE_INFINITY): MessageRow {
  let atMs = Date.parse(event.at);
  if (!Number.isFinite(atMs)) atMs = 0;
  const id = (value: string | undefined) => {
    const s = clean(str(value));
    return s.length > idChars ? s.slice(0, idChars) : s;
  };
  return {
    event_id: String(event.id),
    timestamp: Math.floor(atMs / 1000),
    at_ms: atMs,
    at: str(event.at),
    client_address: hostPort(event.client?.ip, event.client?.port),
    protocol: id(event.protocol),
    outgoing: event.direction === 'outgoing' ? 1 : 0,
    type: eventTypeCode(event.type),
    local_id: id(event.localId),
    remote_id: id(event.remoteId),
    filtered: event.filtered ? 1 : 0,
    categories: clean((event.categories ?? []).map(str).join(';')),
    event_data: clean(eventDataColumn(event)),
    direction: event.direction,
    type_name: str(event.type),
    subtype: event.subtype === undefined ? null : id(event.subtype),
    conversation: event.conversation === undefined ? null : id(event.conversation),
    text: cleanOrNull(event.text),
    delivered_text: cleanOrNull(event.deliveredText),
    file_name: event.file ? clean(str(event.file.name)) : null,
    file_size: event.file?.size ?? null,
    server: clean(hostPort(event.server?.host, event.server?.port)),
    data: event.data === undefined || event.data === null ? null : clean(JSON.stringify(event.data)),
    network: event.network === undefined || event.network === null ? null : id(event.network),
    message_key: messageCopyIdentity(event) === undefined ? null : messageKeyHash(messageCopyIdentity(event)!),
    devices: deviceOf(event) === undefined ? null : joinDevices([deviceOf(event)!]),
  };
}

/** The stored form of a message's copy identity (`messageCopyIdentity`): fixed length, whatever the ids look like. */
export function messageKeyHash(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

/** The device a copy of a message reached (`device=` in its data), if the protocol says. */
function deviceOf(event: Readonly<ImEvent>): string | undefined {
  const device = dataValue(event.data, 'device');
  return device === undefined || device.length === 0 ? undefined : clean(device);
}

const encodeDevice = (device: string) => device.replace(/[% ]/g, (c) => (c === '%' ? '%25' : '%20'));

export function joinDevices(devices: readonly string[]): string {
  return devices.map(encodeDevice).join(' ');
}

export function splitDevices(column: string | null | undefined): string[] {
  if (column === null || column === undefined || column.length === 0) return [];
  return column.split(' ').map((item) => {
    try {
      return decodeURIComponent(item);
    } catch {
      return item;
    }
  });
}

/**
 * The `data` column as pairs: a JSON object text, or a `key=value` string (rows from before migration 0005, or
 * written since by an older gateway sharing the database). Null when empty or unreadable.
 */
export function storedData(column: unknown): EventData | null {
  if (column === null || column === undefined) return null;
  const text = String(column);
  if (text.length === 0) return null;
  let value: unknown = text;
  if (text.startsWith('{')) {
    try {
      value = JSON.parse(text);
    } catch {
      value = text;
    }
  }
  return (typeof value === 'string' ? parseDataString(value) : toEventData(value)) ?? null;
}

/** One archived event, as search and export give it. */
export interface ArchivedMessage {
  eventId: string;
  at: string;
  timestamp: number;
  protocol: string;
  direction: string;
  type: string;
  typeCode: number;
  subtype: string | null;
  localId: string;
  remoteId: string;
  conversation: string | null;
  text: string | null;
  deliveredText: string | null;
  fileName: string | null;
  fileSize: number | null;
  client: string;
  server: string;
  filtered: boolean;
  categories: string[];
  /** IMSpector's column: the file offer, or the data as `key=value` items. */
  eventData: string;
  /** The event's data as pairs (a row stored before migration 0005, or by an older gateway since, is parsed). */
  data: EventData | null;
  /** Where the ids are valid (IRC: the server host); null for protocols with global ids. */
  network: string | null;
  /** The devices the message reached (its copies on the user's other devices are this one row). */
  devices: string[];
}

export function fromRow(row: Record<string, unknown>): ArchivedMessage {
  const n = (v: unknown) => (v === null || v === undefined ? null : Number(v));
  return {
    eventId: String(row['event_id']),
    at: String(row['at']),
    timestamp: Number(row['timestamp']),
    protocol: String(row['protocol']),
    direction: String(row['direction']),
    type: String(row['type_name']),
    typeCode: Number(row['type']),
    subtype: (row['subtype'] as string | null) ?? null,
    localId: String(row['local_id']),
    remoteId: String(row['remote_id']),
    conversation: (row['conversation'] as string | null) ?? null,
    text: (row['text'] as string | null) ?? null,
    deliveredText: (row['delivered_text'] as string | null) ?? null,
    fileName: (row['file_name'] as string | null) ?? null,
    fileSize: n(row['file_size']),
    client: String(row['client_address']),
    server: String(row['server']),
    filtered: Number(row['filtered']) === 1,
    categories: String(row['categories'] ?? '') === '' ? [] : String(row['categories']).split(';'),
    eventData: String(row['event_data'] ?? ''),
    data: storedData(row['data']),
    network: (row['network'] as string | null) ?? null,
    devices: splitDevices(row['devices'] as string | null),
  };
}
