/**
 * The ids of the last `capacity` events written, so a batch that core retries after a partial failure is
 * not written twice. Bounded memory, so the guarantee holds only within the process and for a retry that
 * comes before `capacity` newer events were written: core retries the failed batch right away, so a window
 * of a few batches is enough. After a restart nothing is remembered here: the events the journal delivers
 * again are checked against the files themselves (written-before.ts).
 */
export class RecentIds {
  private readonly ids = new Set<string>();
  private readonly ring: (string | undefined)[];
  private next = 0;

  constructor(readonly capacity: number) {
    this.ring = new Array<string | undefined>(Math.max(0, capacity));
  }

  has(id: string): boolean {
    return this.ids.has(id);
  }

  add(id: string): void {
    if (!this.ids.has(id)) this.addNew(id);
  }

  /**
   * `add` for an id the caller knows is not remembered (it asked `has` since the last add): one lookup less per
   * event. Wrong use only makes the id be forgotten sooner, when its first copy leaves the ring.
   */
  addNew(id: string): void {
    if (this.capacity <= 0) return;
    const old = this.ring[this.next];
    if (old !== undefined) this.ids.delete(old);
    this.ring[this.next] = id;
    this.ids.add(id);
    this.next = (this.next + 1) % this.capacity;
  }
}
