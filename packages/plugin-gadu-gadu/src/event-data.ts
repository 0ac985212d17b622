/**
 * Every event's `data` goes through here: typed key/value pairs (the SDK's `EventData`, built with its
 * `compactData`): text as text, counts and sizes as numbers, flags as `true`; keys whose value is unknown are left
 * out, so an event never carries an empty or undefined item.
 */
import { compactData, type EventDataValue, type EventDraft } from '@imspect/sdk';

export type EventDataPairs = Record<string, EventDataValue | undefined>;

/** Sets the event's `data` from `pairs` (none when there are none); returns the event. */
export function withData(event: EventDraft, pairs: EventDataPairs): EventDraft {
  const data = compactData(pairs);
  if (data !== undefined) event.data = data;
  return event;
}
