/**
 * Every event's `data` goes through here, so the day `data` becomes typed pairs only this function changes.
 * Today: space-separated `key=value` items, values percent-encoded by the SDK's `dataItem`.
 */
import { dataItem } from '@imspect/sdk';

export type EventDataPairs = Record<string, string | number | boolean>;

export function eventData(pairs: EventDataPairs): string {
  return Object.entries(pairs)
    .map(([k, v]) => dataItem(k, String(v)))
    .join(' ');
}
