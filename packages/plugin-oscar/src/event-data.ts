/**
 * The one place this plugin turns an event's details into its `data`: typed key/value pairs (the SDK's
 * `EventData`), copied so a caller's object is not the event's.
 */
import type { EventData } from '@imspect/sdk';

export type EventDataPairs = Record<string, string | number | boolean>;

export function eventData(pairs: EventDataPairs): EventData {
  return { ...pairs };
}
