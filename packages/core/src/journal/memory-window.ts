/**
 * The newest events of a journal, in memory, so that a logger that keeps up never reads the disk: events
 * [start, end). Appending is a push; giving up the oldest moves a head index (O(1)), and the array is copied
 * down only once its dead part is the larger, so both stay amortised O(1) per event.
 */
import type { ImEvent } from '@imspect/sdk';

/** Below this many dead entries the array is not worth copying down. */
const COMPACT_AFTER = 4096;

export class MemoryWindow {
  /** Sequence number of the oldest event held. */
  start = 0;
  /** Sequence number the next event gets (the journal's head). */
  end = 0;
  /** `events[head]` is event `start`. */
  private events: ImEvent[] = [];
  /**
   * Where each event starts in its segment (same indexes; disk journals only): a reader in another thread gets
   * the window's records read back from the segment, which was just written and sits in the OS cache, instead
   * of events encoded again. A number per event costs little beside the event itself.
   */
  private offsets: number[] = [];
  private head = 0;

  /** Empties the window; the next event gets `seq`. */
  reset(seq: number): void {
    this.start = seq;
    this.end = seq;
    this.events = [];
    this.offsets = [];
    this.head = 0;
  }

  get size(): number {
    return this.end - this.start;
  }

  /** Events with no segment behind them (a journal in memory only). */
  push(events: readonly ImEvent[]): void {
    for (const event of events) this.events.push(event);
    this.end += events.length;
  }

  /** Events just written to a segment, record `i` at `at + offsets[i]` in it. */
  pushWritten(events: readonly ImEvent[], offsets: readonly number[], at: number): void {
    for (const event of events) this.events.push(event);
    for (const offset of offsets) this.offsets.push(at + offset);
    this.end += events.length;
  }

  /** Gives up the events before `newStart` (those the window holds). */
  trim(newStart: number): void {
    const count = Math.min(newStart - this.start, this.events.length - this.head);
    if (count <= 0) return;
    this.head += count;
    this.start += count;
    if (this.head === this.events.length) {
      this.events = [];
      this.offsets = [];
      this.head = 0;
    } else if (this.head > COMPACT_AFTER && this.head * 2 > this.events.length) {
      this.events = this.events.slice(this.head);
      this.offsets = this.offsets.slice(this.head);
      this.head = 0;
    }
  }

  /** Events [from, end) (both inside the window). */
  slice(from: number, end: number): ImEvent[] {
    return this.events.slice(this.head + from - this.start, this.head + end - this.start);
  }

  /** Where event `seq` (inside the window, of a disk journal) starts in its segment. */
  offsetOf(seq: number): number {
    return this.offsets[this.head + seq - this.start]!;
  }
}
