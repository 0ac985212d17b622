/**
 * What imspect itself says to the protected users, on every protocol whose session can answer: a reply when
 * something they did was blocked (rate-limited per user, since some clients retry a blocked transfer at once),
 * and the monitoring notice, sent once per user every N days, remembered across restarts.
 */
import { readFile } from 'node:fs/promises';
import type { ResponsesConfig } from '../config/schema.js';
import { describeError, ImspectError } from '@imspect/sdk';
import type { ImEvent } from '@imspect/sdk';
import type { PluginLogger } from '@imspect/sdk';
import { fillBlockedText } from './blocked-text.js';
import { NoticeState, type NoticeShare } from './notice-state.js';

const DAY_MS = 86_400_000;
/** Rate-limit entries kept before old ones are pruned: bounded memory whatever the number of users. */
const MAX_TRACKED_USERS = 100_000;

/** The default blocked reply: what was stopped and the filters' categories (placeholders: blocked-text.ts). */
export const DEFAULT_BLOCKED_TEXT = 'Blocked ({category}): {what}';

/** The settings in force; the notice text already read from its file when one is configured. */
export interface ResponseSettings {
  prefix: string;
  suffix: string;
  blocked: { enabled: boolean; text: string; rateLimitSeconds: number };
  notice: { enabled: boolean; text: string; everyDays: number };
}

export const DEFAULT_RESPONSE_SETTINGS: ResponseSettings = {
  prefix: '',
  suffix: '',
  blocked: { enabled: true, text: DEFAULT_BLOCKED_TEXT, rateLimitSeconds: 60 },
  notice: { enabled: false, text: 'Your activities are being logged', everyDays: 7 },
};

/** The configuration section as settings: reads the notice file (throws when it cannot be read). */
export async function responseSettings(config: ResponsesConfig | undefined): Promise<ResponseSettings> {
  if (!config) return DEFAULT_RESPONSE_SETTINGS;
  let noticeText = config.notice.text;
  if (config.notice.file !== undefined) {
    try {
      noticeText = await readFile(config.notice.file, 'utf8');
    } catch (error) {
      throw new ImspectError(`responses.notice.file: cannot read ${config.notice.file}: ${describeError(error)}`, {
        code: 'CONFIG_INVALID',
        key: 'responses.notice.file',
        file: config.notice.file,
        cause: error,
      });
    }
  }
  return {
    prefix: config.prefix,
    suffix: config.suffix,
    blocked: { ...config.blocked },
    notice: { enabled: config.notice.enabled, text: noticeText, everyDays: config.notice.everyDays },
  };
}

/** A key per user: the same id on two protocols is two users. */
function userKey(event: ImEvent): string | undefined {
  const id = event.localId;
  if (id.length === 0 || id === '*') return undefined;
  return `${event.protocol}\u0000${id}`;
}

/**
 * Which of a user's clients a connection is, for the monitoring notice: what the protocol names (an XMPP
 * resource, given by the session's `clientId`), else the client's address.
 */
export function noticeClient(clientId: string | undefined, clientIp: string): string {
  return clientId !== undefined && clientId.length > 0 ? `id ${clientId}` : `address ${clientIp}`;
}

export class Responses {
  private settings: ResponseSettings;
  private readonly lastBlockedReply = new Map<string, number>();
  private noticeState: NoticeState | undefined;
  /**
   * Told of every blocked-message reply given (by user key), so that relay threads side by side keep one rate
   * limit: another thread passes it to {@link learnBlockedReply}.
   */
  onBlockedReply: ((key: string, at: number) => void) | undefined;

  constructor(
    settings: ResponseSettings,
    private readonly now: () => number = Date.now,
  ) {
    this.settings = settings;
  }

  get current(): ResponseSettings {
    return this.settings;
  }

  /** True when the notice is on and its state is open (live proxying, not a replay). */
  get noticeActive(): boolean {
    return this.settings.notice.enabled && this.noticeState !== undefined;
  }

  update(settings: ResponseSettings): void {
    this.settings = settings;
  }

  /** Starts sending notices, with the delivery record kept in `stateFile`. */
  async openNotice(stateFile: string, log: PluginLogger, share?: NoticeShare): Promise<void> {
    this.noticeState = await NoticeState.open(stateFile, log, share);
  }

  /** The notice state (relay threads pass on what the others sent: {@link NoticeState.learn}). */
  get notices(): NoticeState | undefined {
    return this.noticeState;
  }

  /**
   * Texts to send to the local user about a blocked frame: the filters' own replies, else (for what the user
   * sent) the configured one, with `{what}`, `{category}` and `{reason}` filled in from the blocked event and
   * the filters' `reasons`; nothing when this user had a reply less than `rateLimitSeconds` ago.
   */
  blockedReplies(events: readonly ImEvent[], filterReplies: readonly string[], reasons: readonly string[] = []): string[] {
    const about = events.find((e) => e.filtered) ?? events[0];
    if (!about) return [];
    const { blocked } = this.settings;
    const texts = filterReplies.length > 0 ? [...new Set(filterReplies)] : blocked.enabled && about.direction === 'outgoing' ? [blocked.text] : [];
    if (texts.length === 0) return [];
    const key = userKey(about) ?? `${about.protocol}\u0000${about.client.ip}:${about.client.port}`;
    const now = this.now();
    const last = this.lastBlockedReply.get(key);
    if (last !== undefined && now - last < blocked.rateLimitSeconds * 1000) return [];
    this.learnBlockedReply(key, now);
    this.onBlockedReply?.(key, now);
    return texts.map((text) => this.wrap(fillBlockedText(text, about, reasons)));
  }

  /** A blocked-message reply given at `at` to the user `key` (here, or by another relay thread). */
  learnBlockedReply(key: string, at: number): void {
    if ((this.lastBlockedReply.get(key) ?? Number.NEGATIVE_INFINITY) >= at) return;
    if (this.lastBlockedReply.size >= MAX_TRACKED_USERS) this.pruneReplies(this.now());
    this.lastBlockedReply.set(key, at);
  }

  /**
   * Offers the monitoring notice for the users these events belong to, on the client `client` (see
   * {@link noticeClient}): `send` delivers one line and says whether the protocol could answer; a user's
   * client counts as told once the first line went out. Each client of a user is told: a second device
   * must not miss the notice because the first one saw it.
   */
  offerNotice(events: readonly ImEvent[], send: (text: string, about: ImEvent) => boolean, client: string): void {
    const state = this.noticeState;
    if (!state || !this.settings.notice.enabled) return;
    const everyMs = this.settings.notice.everyDays * DAY_MS;
    for (const event of events) {
      const user = userKey(event);
      if (user === undefined) continue;
      const key = `${user}\u0000${client}`;
      const now = this.now();
      const last = state.lastSent(key) ?? state.adoptLegacy(user, key);
      if (last !== undefined && now - last < everyMs) continue;
      const lines = this.noticeLines();
      if (lines.length === 0) return;
      if (!send(lines[0]!, event)) continue;
      for (const line of lines.slice(1)) send(line, event);
      state.record(key, now);
    }
  }

  async close(): Promise<void> {
    await this.noticeState?.close();
  }

  private noticeLines(): string[] {
    return this.settings.notice.text
      .split(/\r?\n/)
      .map((line) => line.trimEnd())
      .filter((line) => line.length > 0)
      .map((line) => this.wrap(line));
  }

  private wrap(text: string): string {
    return `${this.settings.prefix}${text}${this.settings.suffix}`;
  }

  private pruneReplies(now: number): void {
    const limit = this.settings.blocked.rateLimitSeconds * 1000;
    for (const [key, at] of this.lastBlockedReply) if (now - at >= limit) this.lastBlockedReply.delete(key);
    // Still full (a flood of distinct users inside the window): forget the oldest half.
    if (this.lastBlockedReply.size >= MAX_TRACKED_USERS) {
      let drop = this.lastBlockedReply.size / 2;
      for (const key of this.lastBlockedReply.keys()) {
        if (drop-- <= 0) break;
        this.lastBlockedReply.delete(key);
      }
    }
  }
}
