/**
 * The one place this plugin turns an event's details into its `data`: typed key/value pairs (the SDK's
 * `EventData`): text as text, ports, counts and error codes as numbers, flags as `true`. Built with the SDK's
 * `compactData`, so a caller's object is not the event's and a key without a value is left out.
 */
import { compactData, type EventData, type EventDataValue } from '@imspect/sdk';

export type EventDataPairs = Record<string, EventDataValue | undefined>;

/** The pairs as an event's `data`, or undefined when none has a value. */
export function eventData(pairs: EventDataPairs): EventData | undefined {
  return compactData(pairs);
}
