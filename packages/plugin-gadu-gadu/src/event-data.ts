/**
 * Every event's `data` goes through here, so the day `data` becomes typed pairs only this module changes.
 * Today: space-separated `key=value` items, values percent-encoded by the SDK's `dataItem`.
 */
import { dataItem, type EventDraft } from '@imspect/sdk';

export type EventDataPairs = Record<string, string | number | boolean>;

export function eventData(pairs: EventDataPairs): string {
  return Object.entries(pairs)
    .map(([k, v]) => dataItem(k, String(v)))
    .join(' ');
}

/** Sets the event's `data` from `pairs` (none when there are none); returns the event. */
export function withData(event: EventDraft, pairs: EventDataPairs): EventDraft {
  const data = eventData(pairs);
  if (data !== '') event.data = data;
  return event;
}
