/**
 * The live view's server side: every event imspect accepts goes, filtered, to each open server-sent-events
 * stream. Memory stays bounded on both ends: texts are cut to `LIVE_TEXT_CHARS` (the full text is in the
 * archive), and a stream whose socket does not take more (a slow or paused browser) is not buffered for: its
 * events are counted as skipped until the socket drains, then the browser is told how many it missed.
 */
import type { ServerResponse } from 'node:http';
import type { ImEvent } from '@imspect/sdk';
import type { LiveSource } from './source.js';

export const LIVE_TEXT_CHARS = 2000;
export const MAX_LIVE_STREAMS = 50;
export const HEARTBEAT_MS = 15_000;

export interface LiveFilter {
  protocol?: string;
  /** The local or remote id contains this (case-insensitive). */
  user?: string;
  types?: string[];
}

/** One event as the browser gets it: no client port, texts cut. */
export interface LiveItem {
  id: string;
  at: string;
  protocol: string;
  direction: string;
  type: string;
  subtype?: string;
  localId: string;
  remoteId: string;
  network?: string;
  conversation?: string;
  text?: string;
  deliveredText?: string;
  /** Characters of the text before it was cut, when it was. */
  textChars?: number;
  file?: { name: string; size?: number };
  client: string;
  filtered: boolean;
  categories: string[];
}

function cut(text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  return text.length <= LIVE_TEXT_CHARS ? text : text.slice(0, LIVE_TEXT_CHARS);
}

export function liveItem(event: Readonly<ImEvent>): LiveItem {
  const item: LiveItem = {
    id: event.id,
    at: event.at,
    protocol: event.protocol,
    direction: event.direction,
    type: event.type,
    localId: event.localId,
    remoteId: event.remoteId,
    client: event.client.ip,
    filtered: event.filtered,
    categories: [...event.categories],
  };
  if (event.subtype !== undefined) item.subtype = String(event.subtype);
  if (event.network !== undefined) item.network = event.network;
  if (event.conversation !== undefined) item.conversation = event.conversation;
  if (event.text !== undefined) {
    item.text = cut(event.text)!;
    if (event.text.length > LIVE_TEXT_CHARS) item.textChars = event.text.length;
  }
  if (event.deliveredText !== undefined) item.deliveredText = cut(event.deliveredText)!;
  if (event.file !== undefined) item.file = { name: cut(event.file.name)!, ...(event.file.size !== undefined ? { size: event.file.size } : {}) };
  return item;
}

export function matches(filter: LiveFilter, event: Readonly<ImEvent>): boolean {
  if (filter.protocol && event.protocol !== filter.protocol) return false;
  if (filter.types && filter.types.length > 0 && !filter.types.includes(event.type)) return false;
  if (filter.user) {
    const needle = filter.user.toLowerCase();
    if (!event.localId.toLowerCase().includes(needle) && !event.remoteId.toLowerCase().includes(needle)) return false;
  }
  return true;
}

class LiveStream {
  skipped = 0;
  private blocked = false;

  constructor(
    private readonly res: ServerResponse,
    readonly filter: LiveFilter,
    /** Is the session behind the stream still valid (asked at each heartbeat)? */
    readonly alive: () => boolean | Promise<boolean>,
  ) {
    res.on('drain', () => {
      this.blocked = false;
      if (this.skipped > 0) {
        this.write(`event: skipped\ndata: ${JSON.stringify({ count: this.skipped })}\n\n`);
        this.skipped = 0;
      }
    });
  }

  send(items: LiveItem[]): void {
    if (items.length === 0) return;
    if (this.blocked) {
      this.skipped += items.length;
      return;
    }
    this.write(items.map((item) => `event: im\ndata: ${JSON.stringify(item)}\n\n`).join(''));
  }

  /** Bytes written but not yet taken by the socket (bounded: nothing more is written past the first refusal). */
  get buffered(): number {
    return this.res.writableLength;
  }

  heartbeat(): void {
    if (!this.blocked) this.write(': keep-alive\n\n');
  }

  private write(text: string): void {
    if (!this.res.write(text)) this.blocked = true;
  }

  end(): void {
    this.res.end();
  }
}

export class LiveHub {
  private readonly streams = new Set<LiveStream>();
  private unsubscribe: (() => void) | undefined;
  private heartbeat: NodeJS.Timeout | undefined;

  constructor(
    private readonly source: Pick<LiveSource, 'onEvents'>,
    /** How often each stream gets a keep-alive and its session is checked. */
    private readonly heartbeatMs = HEARTBEAT_MS,
    /** Where a stream that fails is reported (it is ended; the other streams and relaying go on). */
    private readonly onStreamError: (error: unknown) => void = () => undefined,
  ) {}

  get size(): number {
    return this.streams.size;
  }

  /** Per open stream: bytes waiting for its socket and events skipped since it last drained. */
  stats(): Array<{ buffered: number; skipped: number }> {
    return [...this.streams].map((s) => ({ buffered: s.buffered, skipped: s.skipped }));
  }

  /** Starts a stream on a hijacked response; false when too many are open. `alive` is asked at each heartbeat. */
  open(res: ServerResponse, filter: LiveFilter, alive: () => boolean | Promise<boolean>, headers: Record<string, string>): boolean {
    if (this.streams.size >= MAX_LIVE_STREAMS) return false;
    res.writeHead(200, { ...headers, 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive', 'x-accel-buffering': 'no' });
    res.write(': imspect live view\n\n');
    const stream = new LiveStream(res, filter, alive);
    this.streams.add(stream);
    res.on('close', () => this.close(stream));
    this.unsubscribe ??= this.source.onEvents((events) => this.dispatch(events));
    this.heartbeat ??= setInterval(() => {
      for (const s of this.streams) {
        // A session that ended (logout, expiry, user removed or password changed) ends its stream.
        void Promise.resolve(s.alive()).then(
          (ok) => (ok ? s.heartbeat() : s.end()),
          () => s.end(),
        );
      }
    }, this.heartbeatMs).unref();
    return true;
  }

  private dispatch(events: readonly ImEvent[]): void {
    // Each event is turned into its browser form once, whatever the number of streams.
    const items = new Map<ImEvent, LiveItem>();
    for (const stream of this.streams) {
      const selected: LiveItem[] = [];
      for (const event of events) {
        if (!matches(stream.filter, event)) continue;
        let item = items.get(event);
        if (!item) items.set(event, (item = liveItem(event)));
        selected.push(item);
      }
      // This runs inside imspect's relay loop: a stream that throws (its socket gone bad) is ended and
      // reported, never allowed to reach the loop or the other streams.
      try {
        stream.send(selected);
      } catch (error) {
        this.onStreamError(error);
        this.close(stream);
        try {
          stream.end();
        } catch {
          // Its socket is beyond use already.
        }
      }
    }
  }

  private close(stream: LiveStream): void {
    this.streams.delete(stream);
    if (this.streams.size === 0) {
      this.unsubscribe?.();
      this.unsubscribe = undefined;
      clearInterval(this.heartbeat);
      this.heartbeat = undefined;
    }
  }

  closeAll(): void {
    for (const stream of [...this.streams]) stream.end();
  }
}
