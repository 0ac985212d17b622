import type { ImEvent } from '../sdk/event.js';
import type { ContentHooks, FilterHooks, PluginLogger, Verdict } from '../sdk/plugin.js';
import { callHook, callHookWithTimeout, isPromiseLike } from '../runtime/hooks.js';

export interface PolicyOptions {
  failMode: 'open' | 'closed';
  hookTimeoutMs: number;
}

export interface NamedFilter {
  name: string;
  hooks: FilterHooks;
}

export interface NamedContent {
  name: string;
  hooks: ContentHooks;
}

/** What policy decided for one frame's events. */
export interface FrameDecision {
  /** Drop the frame: it never reaches the other side. */
  block: boolean;
  /** New text for the frame's message event, when a content plugin changed it. */
  text?: string;
  /** Texts to send back to the local user. */
  responses: string[];
}

/**
 * Runs filters (first block wins) and then content plugins (each sees the text the previous one produced) over
 * a frame's events, marking the events in place. Stays synchronous while every hook answers synchronously, so
 * the common case costs no promise per frame.
 */
export class Policy {
  constructor(
    private readonly filters: readonly NamedFilter[],
    private readonly contents: readonly NamedContent[],
    private readonly options: PolicyOptions,
    private readonly log: PluginLogger,
  ) {}

  get isEmpty(): boolean {
    return this.filters.length === 0 && this.contents.length === 0;
  }

  decide(events: ImEvent[]): FrameDecision | Promise<FrameDecision> {
    const decision: FrameDecision = { block: false, responses: [] };
    return this.runFilters(events, 0, 0, decision);
  }

  private runFilters(events: ImEvent[], eventIndex: number, filterIndex: number, decision: FrameDecision): FrameDecision | Promise<FrameDecision> {
    for (let e = eventIndex; e < events.length; e++) {
      const event = events[e]!;
      for (let f = e === eventIndex ? filterIndex : 0; f < this.filters.length; f++) {
        if (event.filtered) break;
        const filter = this.filters[f]!;
        const verdict = this.check(filter, event);
        if (isPromiseLike(verdict)) {
          return Promise.resolve(verdict).then((v) => {
            this.apply(v, event, decision);
            return this.runFilters(events, e, f + 1, decision);
          });
        }
        this.apply(verdict, event, decision);
      }
    }
    if (decision.block) return decision;
    return this.runContents(events, 0, decision);
  }

  private check(filter: NamedFilter, event: ImEvent): Verdict | Promise<Verdict> {
    try {
      const verdict = callHook(filter.name, 'check', () => filter.hooks.check(event));
      if (isPromiseLike(verdict)) {
        return callHookWithTimeout(filter.name, 'check', this.options.hookTimeoutMs, () => verdict).catch((error: unknown) =>
          this.failedVerdict(filter.name, error),
        );
      }
      return verdict;
    } catch (error) {
      return this.failedVerdict(filter.name, error);
    }
  }

  private failedVerdict(name: string, error: unknown): Verdict {
    this.log.error({ plugin: name, hook: 'check', err: error, failMode: this.options.failMode }, `filter "${name}" failed`);
    return this.options.failMode === 'closed' ? { action: 'block', categories: [`error ${name}`] } : { action: 'pass' };
  }

  private apply(verdict: Verdict | undefined, event: ImEvent, decision: FrameDecision): void {
    if (!verdict) return;
    if (verdict.categories?.length) {
      for (const category of verdict.categories) if (!event.categories.includes(category)) event.categories.push(category);
    }
    if (verdict.action === 'block') {
      event.filtered = true;
      decision.block = true;
      if (verdict.respond) decision.responses.push(verdict.respond);
    }
  }

  private runContents(events: ImEvent[], contentIndex: number, decision: FrameDecision): FrameDecision | Promise<FrameDecision> {
    // Only a frame with exactly one message text can be rewritten; see Frame.rewrite.
    const target = events.find((e) => e.type === 'message' && e.text !== undefined);
    if (!target) return decision;
    for (let c = contentIndex; c < this.contents.length; c++) {
      const content = this.contents[c]!;
      const current = { ...target, text: decision.text ?? target.text };
      let result: string | undefined | Promise<string | undefined>;
      try {
        result = callHook(content.name, 'transform', () => content.hooks.transform(current));
      } catch (error) {
        this.log.error({ plugin: content.name, hook: 'transform', err: error }, `content plugin "${content.name}" failed; text left as it was`);
        continue;
      }
      if (isPromiseLike(result)) {
        return callHookWithTimeout(content.name, 'transform', this.options.hookTimeoutMs, () => result)
          .catch((error: unknown) => {
            this.log.error({ plugin: content.name, hook: 'transform', err: error }, `content plugin "${content.name}" failed; text left as it was`);
            return undefined;
          })
          .then((text) => {
            if (typeof text === 'string') decision.text = text;
            return this.runContents(events, c + 1, decision);
          });
      }
      if (typeof result === 'string') decision.text = result;
    }
    if (decision.text !== undefined && decision.text !== target.text) target.deliveredText = decision.text;
    else delete decision.text;
    return decision;
  }
}
