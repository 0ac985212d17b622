/**
 * When each user was last given the monitoring notice, kept in a JSON file in the data folder so a restart
 * does not notify everyone again. Written shortly after a change (atomically: a temporary file renamed over
 * the old one) and at shutdown.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { PluginLogger } from '@imspect/sdk';

const SAVE_DELAY_MS = 500;

interface StateFile {
  version: 1;
  /**
   * `protocol NUL localId NUL client` -> time the notice was sent to that client of the user, ms since the
   * epoch. Files written before notices were per client have `protocol NUL localId` keys (per user): such an
   * entry is taken over by the first client of that user seen afterwards (see adoptLegacy).
   */
  sent: Record<string, number>;
}

/** How a relay thread's notice state reports what it sent (see {@link NoticeState.open}). */
export interface NoticeShare {
  sent(key: string, at: number): void;
}

export class NoticeState {
  private readonly sent: Map<string, number>;
  private timer: NodeJS.Timeout | undefined;
  private saving: Promise<void> = Promise.resolve();
  private dirty = false;

  private constructor(
    private readonly file: string,
    sent: Map<string, number>,
    private readonly log: PluginLogger,
    private readonly share?: NoticeShare,
  ) {
    this.sent = sent;
  }

  /**
   * `share`: a relay thread's copy. It reads the file once, then tells the main thread of every notice it
   * sends instead of writing the file (threads writing one file would undo each other's entries); the main
   * thread's state records it, saves it and passes it to the other threads ({@link learn}).
   */
  static async open(file: string, log: PluginLogger, share?: NoticeShare): Promise<NoticeState> {
    await mkdir(path.dirname(file), { recursive: true, mode: 0o750 });
    const sent = new Map<string, number>();
    let text: string | undefined;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') log.warn({ file, err: error }, 'cannot read the monitoring notice state; users will be notified again');
    }
    if (text !== undefined) {
      try {
        const parsed = JSON.parse(text) as Partial<StateFile>;
        for (const [key, at] of Object.entries(parsed.sent ?? {})) if (typeof at === 'number' && Number.isFinite(at)) sent.set(key, at);
      } catch (error) {
        log.warn({ file, err: error }, 'the monitoring notice state is damaged; users will be notified again');
      }
    }
    return new NoticeState(file, sent, log, share);
  }

  lastSent(key: string): number | undefined {
    return this.sent.get(key);
  }

  /**
   * A per-user entry from before notices were per client: moved to `clientKey` (the first of the user's
   * clients seen since, most likely the one that was told) and its time returned; undefined when there is none.
   */
  adoptLegacy(userKey: string, clientKey: string): number | undefined {
    const at = this.sent.get(userKey);
    if (at === undefined) return undefined;
    this.sent.delete(userKey);
    this.record(clientKey, at);
    return at;
  }

  record(key: string, at: number): void {
    this.sent.set(key, at);
    if (this.share) {
      this.share.sent(key, at);
      return;
    }
    this.dirty = true;
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.save();
    }, SAVE_DELAY_MS);
    this.timer.unref?.();
  }

  /** A notice another thread sent (see {@link open}). */
  learn(key: string, at: number): void {
    if ((this.sent.get(key) ?? 0) < at) this.sent.set(key, at);
  }

  async close(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.save();
  }

  private save(): Promise<void> {
    this.saving = this.saving.then(async () => {
      if (!this.dirty) return;
      this.dirty = false;
      const body: StateFile = { version: 1, sent: Object.fromEntries(this.sent) };
      const temp = `${this.file}.${process.pid}.tmp`;
      try {
        // Who was told, and when: a list of the monitored users, for imspect's eyes only.
        await writeFile(temp, `${JSON.stringify(body)}\n`, { mode: 0o600 });
        await rename(temp, this.file);
      } catch (error) {
        this.dirty = true;
        this.log.error({ file: this.file, err: error }, 'cannot save the monitoring notice state');
      }
    });
    return this.saving;
  }
}
