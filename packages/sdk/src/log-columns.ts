/**
 * How loggers write the parts of an event that IMSpector's logs had as columns, so that every logger (CSV
 * files, the SQL archive, third-party ones) stores them alike and archives stay comparable.
 */
import { EVENT_TYPE_CODES, type EventType, type ImEvent } from './event.js';
import { formatDataString } from './event-data.js';

/** The numeric code of an event type; a type this version does not know is stored as `other` (11). */
export function eventTypeCode(type: string): number {
  return Object.hasOwn(EVENT_TYPE_CODES, type) ? EVENT_TYPE_CODES[type as EventType] : EVENT_TYPE_CODES.other;
}

/**
 * IMSpector's "event data": the file offer (`name size`) for file events, the protocol's data otherwise, as
 * `key=value` items ({@link formatDataString}: the form this column had before data was typed).
 */
export function eventDataColumn(event: Readonly<ImEvent>): string {
  if (event.type === 'file' && event.file) {
    const name = text(event.file.name);
    return event.file.size === undefined ? name : `${name} ${event.file.size}`;
  }
  return formatDataString(event.data);
}

/** `host:port`, an IPv6 host in brackets; `:port` without a host, the host alone without a port. */
export function hostPort(host: string | undefined, port: number | undefined): string {
  const h = host !== undefined && host.includes(':') && !host.startsWith('[') ? `[${host}]` : (host ?? '');
  return port === undefined ? h : `${h}:${port}`;
}

function text(value: unknown): string {
  return value === undefined || value === null ? '' : String(value);
}
