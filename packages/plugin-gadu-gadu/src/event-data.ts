/**
 * Every event's `data` goes through here: typed key/value pairs (the SDK's `EventData`), with keys whose value is
 * unknown left out, so an event never carries an empty or undefined item.
 */
import type { EventData, EventDraft } from '@imspect/sdk';

export type EventDataPairs = Record<string, string | number | boolean | undefined>;

export function eventData(pairs: EventDataPairs): EventData | undefined {
  const out: Record<string, string | number | boolean> = {};
  let any = false;
  for (const [key, value] of Object.entries(pairs)) {
    if (value === undefined) continue;
    out[key] = value;
    any = true;
  }
  return any ? out : undefined;
}

/** Sets the event's `data` from `pairs` (none when there are none); returns the event. */
export function withData(event: EventDraft, pairs: EventDataPairs): EventDraft {
  const data = eventData(pairs);
  if (data !== undefined) event.data = data;
  return event;
}
