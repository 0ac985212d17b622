/**
 * What one journal record holds: an event, in the layout of the record's version.
 *
 * - Version 1 (a JSON object without `"v"`): written before event data was typed; `data` is a string of
 *   `key=value` items.
 * - Version 2 (a JSON object whose first member is `"v":2`): the event as JSON, `data` an object of typed pairs.
 * - Version 3 (a JSON array whose first item is 3): the event's members by position, without their names (they
 *   were a third of a record), an absent optional member as `null`. {@link V3_FIELDS} is the order.
 *
 * A record of an older version is read into the current event shape (its data string parsed with the rules the
 * readers of that string used), so a journal written before an upgrade is delivered to the loggers unchanged.
 */
import type { ImEvent } from '@imspect/sdk';
// The event-data helpers alone: the SDK's index also loads TypeBox, which `imspect status` must not pay for.
import { toEventData } from '@imspect/sdk/event-data';

export const EVENT_RECORD_VERSION = 3;

/** Version 3's positions after the version: `client` and `server` as their two parts each. */
export const V3_FIELDS = [
  'id',
  'at',
  'protocol',
  'direction',
  'type',
  'subtype',
  'localId',
  'remoteId',
  'network',
  'conversation',
  'text',
  'deliveredText',
  'file',
  'data',
  'messageKey',
  'client.ip',
  'client.port',
  'server.host',
  'server.port',
  'filtered',
  'categories',
] as const;

const V3_LENGTH = 1 + V3_FIELDS.length;

// Every member of an event has its place: a member added to `ImEvent` and not to V3_FIELDS (and the encoder) would
// be dropped from the journal silently, so it fails to compile here instead.
type UnplacedMember = Exclude<keyof ImEvent, 'client' | 'server' | Exclude<(typeof V3_FIELDS)[number], `${string}.${string}`>>;
const everyMemberPlaced: [UnplacedMember] extends [never] ? true : UnplacedMember = true;
void everyMemberPlaced;

/**
 * The record's text. One array literal and one native `JSON.stringify`: no copy of the event, no replacer, no
 * string joined from parts. `ImEvent` is closed (core builds every event in `completeEvent`), so every member
 * has its place.
 */
export function encodeEventRecord(event: Readonly<ImEvent>): string {
  return JSON.stringify([
    EVENT_RECORD_VERSION,
    event.id,
    event.at,
    event.protocol,
    event.direction,
    event.type,
    event.subtype ?? null,
    event.localId,
    event.remoteId,
    event.network ?? null,
    event.conversation ?? null,
    event.text ?? null,
    event.deliveredText ?? null,
    event.file ?? null,
    event.data ?? null,
    event.messageKey ?? null,
    event.client.ip,
    event.client.port,
    event.server.host,
    event.server.port,
    event.filtered,
    event.categories,
  ]);
}

/** The event of a record of any version (throws on text that is no record, as damage does). */
export function decodeEventRecord(text: string): ImEvent {
  const record = JSON.parse(text) as unknown;
  if (Array.isArray(record)) return fromV3(record);
  if (typeof record !== 'object' || record === null) throw new SyntaxError('a journal record is no JSON object');
  return fromObject(record as Record<string, unknown>);
}

function fromV3(a: unknown[]): ImEvent {
  if (a[0] !== 3 || a.length !== V3_LENGTH) throw new SyntaxError(`a journal record array of version ${String(a[0])} and ${a.length} items`);
  const event = {
    id: a[1],
    at: a[2],
    protocol: a[3],
    direction: a[4],
    type: a[5],
    localId: a[7],
    remoteId: a[8],
    client: { ip: a[16], port: a[17] },
    server: { host: a[18], port: a[19] },
    filtered: a[20],
    categories: a[21],
  } as Record<string, unknown>;
  // The optional members after the others, as `completeEvent` adds them.
  if (a[6] !== null) event['subtype'] = a[6];
  if (a[9] !== null) event['network'] = a[9];
  if (a[10] !== null) event['conversation'] = a[10];
  if (a[11] !== null) event['text'] = a[11];
  if (a[12] !== null) event['deliveredText'] = a[12];
  if (a[13] !== null) event['file'] = a[13];
  if (a[14] !== null) {
    // The same check as for any version: nothing but text, numbers and flags reaches a logger as pairs.
    const data = toEventData(a[14]);
    if (data !== undefined) event['data'] = data;
  }
  if (a[15] !== null) event['messageKey'] = a[15];
  return event as unknown as ImEvent;
}

/** Versions 1 and 2: the event's own JSON object. */
function fromObject(record: Record<string, unknown>): ImEvent {
  delete record['v'];
  // Version 1 had data as a string (parsed here); any version's data goes through the same check, so nothing but
  // text, numbers and flags reaches a logger as pairs.
  if (record['data'] !== undefined) {
    const data = toEventData(record['data']);
    if (data === undefined) delete record['data'];
    else record['data'] = data;
  }
  return record as unknown as ImEvent;
}
