/**
 * What one journal record holds: an event as JSON, with the version of that layout as its first member (`"v"`).
 *
 * - Version 1 (no `"v"`): written before event data was typed; `data` is a string of `key=value` items.
 * - Version 2: `data` is an object of typed pairs.
 *
 * A record of an older version is read into the current event shape (its data string parsed with the rules the
 * readers of that string used), so a journal written before an upgrade is delivered to the loggers unchanged.
 */
import { toEventData, type ImEvent } from '@imspect/sdk';

export const EVENT_RECORD_VERSION = 2;

const VERSION_PREFIX = `{"v":${EVENT_RECORD_VERSION},`;

/** The record's text: the event's JSON with the version put first (no copy of the event is made). */
export function encodeEventRecord(event: Readonly<ImEvent>): string {
  const json = JSON.stringify(event);
  return json.length > 2 ? VERSION_PREFIX + json.slice(1) : `{"v":${EVENT_RECORD_VERSION}}`;
}

/** The event of a record of any version (throws on text that is no JSON object, as damage does). */
export function decodeEventRecord(text: string): ImEvent {
  const record = JSON.parse(text) as Record<string, unknown>;
  if (typeof record !== 'object' || record === null) throw new SyntaxError('a journal record is no JSON object');
  const version = record['v'];
  delete record['v'];
  // Version 1 had data as a string (parsed here); any version's data goes through the same check, so nothing but
  // text, numbers and flags reaches a logger as pairs.
  if (version !== EVENT_RECORD_VERSION || record['data'] !== undefined) {
    const data = toEventData(record['data']);
    if (data === undefined) delete record['data'];
    else record['data'] = data;
  }
  return record as unknown as ImEvent;
}
