/**
 * The journal's consumers (one per logger): where each one is, what it stored, lost and failed. The journal
 * keeps every event until the slowest cursor is past it; these cursors know nothing of where events are kept.
 */
import type { ConsumerState } from './state.js';

/** What an acknowledgement changed: the position, only the counts (`lost` given back), or nothing. */
export type AckResult = 'moved' | 'counted' | 'unchanged';

export class ConsumerCursors {
  private readonly states = new Map<string, ConsumerState>();

  /** A consumer at `position` (counts restored from a state file when given). */
  add(name: string, position: number, saved?: Pick<ConsumerState, 'lost' | 'lastError' | 'lastErrorAt'>): void {
    this.states.set(name, {
      position,
      delivered: 0,
      failures: 0,
      lost: saved?.lost ?? 0,
      ...(saved?.lastError ? { lastError: saved.lastError, lastErrorAt: saved.lastErrorAt! } : {}),
    });
  }

  get size(): number {
    return this.states.size;
  }

  names(): string[] {
    return [...this.states.keys()];
  }

  /** The consumer's own state (live: the journal's snapshot copies it). */
  get(name: string): ConsumerState {
    const state = this.states.get(name);
    if (!state) throw new Error(`journal: unknown consumer "${name}"`);
    return state;
  }

  /**
   * The consumer stored every event before `position` (from `from` on, when the batch is known: a batch read
   * before its oldest events were given up for this consumer was stored after all, and is not lost).
   */
  ack(name: string, position: number, from?: number): AckResult {
    const state = this.get(name);
    let result: AckResult = 'unchanged';
    if (from !== undefined && from < state.position && state.lost > 0) {
      const storedAfterAll = Math.min(position, state.position) - from;
      state.lost = Math.max(0, state.lost - storedAfterAll);
      state.delivered += storedAfterAll;
      result = 'counted';
    }
    if (position <= state.position) return result;
    state.delivered += position - state.position;
    state.position = position;
    return 'moved';
  }

  recordFailure(name: string, message: string, at = new Date()): void {
    const state = this.get(name);
    state.failures++;
    state.lastError = message;
    state.lastErrorAt = at.toISOString();
  }

  /** The slowest consumer's position (`head` when every one is there, or there is none). */
  minPosition(head: number): number {
    let min = head;
    for (const c of this.states.values()) min = Math.min(min, c.position);
    return min;
  }

  /** Events not yet stored, per consumer. */
  pendingBy(head: number): Record<string, number> {
    return Object.fromEntries([...this.states.entries()].map(([name, c]) => [name, head - c.position]));
  }

  /**
   * Moves every consumer still before `end` to it: the events it skips are counted as its `lost`, and
   * `skipped` hears of each one moved.
   */
  giveUpBefore(end: number, skipped: (name: string, state: ConsumerState, count: number) => void): void {
    for (const [name, state] of this.states) {
      if (state.position >= end) continue;
      const count = end - state.position;
      state.lost += count;
      state.position = end;
      skipped(name, state, count);
    }
  }

  /** A copy of every consumer's state, for the state file and `imspect status`. */
  snapshot(): Record<string, ConsumerState> {
    return Object.fromEntries([...this.states.entries()].map(([name, c]) => [name, { ...c }]));
  }
}
