/**
 * SSI, the server-stored buddy list ("feedbag", family 0x13). Items: name (u16 length), group id, item id,
 * class (0 buddy, 1 group, 2 permit, 3 deny, ...), then a TLV block (u16 length). The client adds (0x08),
 * updates (0x09) and deletes (0x0A) items; the server's roster (0x06) names the groups.
 */
import { Cursor } from './cursor.js';
import { decodeName } from './screen-name.js';

export const ItemClass = { BUDDY: 0, GROUP: 1, PERMIT: 2, DENY: 3 } as const;

export interface FeedbagItem {
  name: string;
  groupId: number;
  itemId: number;
  itemClass: number;
}

/** Most items one SNAC may list (an AIM list holds a few hundred buddies). */
const MAX_ITEMS = 4096;

/** The items of an add/update/delete (from `start`), or of a roster (after its version byte and count). */
export function readItems(raw: Uint8Array, start: number, end: number, count = Infinity): { items: FeedbagItem[]; error?: string } {
  const c = new Cursor(raw, start, end);
  const items: FeedbagItem[] = [];
  while (c.left > 0 && items.length < count && items.length < MAX_ITEMS) {
    const name = decodeName(c.take(c.u16()));
    const groupId = c.u16();
    const itemId = c.u16();
    const itemClass = c.u16();
    c.skip(c.u16());
    if (c.overflow) return { items, error: `feedbag item ${items.length + 1} runs past the SNAC` };
    items.push({ name, groupId, itemId, itemClass });
  }
  return { items };
}

/** The roster (0x13/0x06): version u8, item count u16, the items, last-change time u32. */
export function readRoster(raw: Uint8Array, start: number, end: number): { items: FeedbagItem[]; error?: string } {
  const c = new Cursor(raw, start, end);
  c.u8();
  const count = c.u16();
  if (c.overflow) return { items: [], error: 'roster shorter than its header' };
  return readItems(raw, c.at, Math.max(c.at, end - 4), count);
}
