/**
 * Bytes all the flows of one relay parse in one event-loop turn. Beyond it, a flow defers its next chunk to a
 * later turn (its socket paused meanwhile): without a shared budget one turn parsed every ready connection's
 * chunk back to back, and under bulk load with hundreds of connections timers and chat waited about a second.
 */
export const TURN_BUDGET_BYTES = 256 * 1024;

/** A flow that waits for a later turn's budget. */
export interface TurnWaiter {
  runDeferred(): void;
}

/**
 * The parse budget of the current turn, shared by the flows of one relay (an engine's), and the flows waiting
 * for the next turn, first come, first served. One setImmediate per busy turn renews it. An instance, not
 * process state: relays that run side by side (tests, embedders, one per worker) each pace their own flows.
 */
export class TurnBudget {
  private spent = 0;
  private scheduled = false;
  private waiting: TurnWaiter[] = [];
  /** How many times a flow waited for a later turn (the fairness tests read it). */
  deferrals = 0;

  constructor(readonly bytesPerTurn = TURN_BUDGET_BYTES) {}

  get exhausted(): boolean {
    return this.spent >= this.bytesPerTurn;
  }

  charge(bytes: number): void {
    this.spent += bytes;
    this.schedule();
  }

  /** `waiter.runDeferred()` is called in a later turn, once there is budget for it. */
  wait(waiter: TurnWaiter): void {
    this.deferrals++;
    this.waiting.push(waiter);
    this.schedule();
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(this.next);
  }

  private readonly next = (): void => {
    this.scheduled = false;
    this.spent = 0;
    const waiting = this.waiting;
    this.waiting = [];
    let i = 0;
    // Flows that run out of budget again here re-queue themselves (after those still waiting).
    for (; i < waiting.length && !this.exhausted; i++) waiting[i]!.runDeferred();
    if (i < waiting.length) this.waiting = waiting.slice(i).concat(this.waiting);
    if (this.waiting.length > 0) this.schedule();
  };
}
