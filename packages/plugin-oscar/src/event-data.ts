/**
 * The one place this plugin turns an event's details into its `data`. Today that is the SDK's string convention
 * (space-separated `key=value` items); when `data` becomes typed pairs, only this function changes.
 */
import { dataItem } from '@imspect/sdk';

export type EventDataPairs = Record<string, string | number | boolean>;

export function eventData(pairs: EventDataPairs): string {
  return Object.entries(pairs)
    .map(([k, v]) => dataItem(k, String(v)))
    .join(' ');
}
