import { PluginHookError } from '@imspect/sdk';
import type { ImEvent } from '@imspect/sdk';
import type { ContentHooks, FilterHooks, PluginLogger, Verdict } from '@imspect/sdk';
import { PluginHost, isPromiseLike } from '../runtime/plugin-host.js';
import { frozenEvent, isGroupChat } from '@imspect/sdk';
import type { LocalUsers } from './local-users.js';
import type { Responses } from './responses.js';

/**
 * What a recipient's connection judges of a message it receives, and so what is judged on the sender's side too
 * when both users are behind imspect (point-to-point only: a group message reaches others as well).
 */
const RECIPIENT_JUDGED_TYPES: ReadonlySet<string> = new Set(['message', 'file', 'typing', 'webcam', 'emoticon']);

export interface PolicyOptions {
  failMode: 'open' | 'closed';
  /** Used for a host of the policy's own when none is given (its `policyMs`). */
  hookTimeoutMs: number;
  /** The engine's plugin host, which calls `check` and `transform` with its timeouts. */
  host?: PluginHost;
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
  /** Close the connection once the responses are written (a filter said `disconnect`). */
  disconnect?: boolean;
  /** Why, for the operational log, when disconnecting. */
  reason?: string;
  /** The blocking filters' reasons, for the blocked reply's `{reason}`. */
  reasons?: string[];
}

/** Why a filter's answer is not a verdict, or undefined when it is one. */
export function verdictProblem(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return `returned ${describeValue(value)} instead of a verdict object`;
  const v = value as Record<string, unknown>;
  if (v['action'] !== 'pass' && v['action'] !== 'block') return `verdict action is ${describeValue(v['action'])}, not "pass" or "block"`;
  const categories = v['categories'];
  if (categories !== undefined && !(Array.isArray(categories) && categories.every((c) => typeof c === 'string'))) {
    return `verdict categories is ${describeValue(categories)}, not a list of strings`;
  }
  for (const key of ['reason', 'respond', 'text']) {
    if (v[key] !== undefined && typeof v[key] !== 'string') return `verdict ${key} is ${describeValue(v[key])}, not a string`;
  }
  if (v['disconnect'] !== undefined && typeof v['disconnect'] !== 'boolean') return `verdict disconnect is ${describeValue(v['disconnect'])}, not true or false`;
  return undefined;
}

function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value);
  return typeof value === 'object' ? 'an object' : typeof value === 'undefined' ? 'undefined' : `${typeof value} ${String(value)}`;
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
    /** Blocked-message replies and the monitoring notice; without it, only the filters' own replies are sent. */
    readonly responses?: Responses,
    /**
     * The protected users connected now. With it, a message from one to another is also judged as the
     * recipient's connection will judge it (the recipient's view: local and remote swapped, incoming), and
     * blocked at the sender when that view is blocked: the message never leaves, the sender is told, and the
     * archive holds one row that says filtered instead of a "delivered" row at the sender and a filtered one at
     * the recipient.
     */
    readonly localUsers?: LocalUsers,
  ) {
    this.host = options.host ?? new PluginHost({ policyMs: options.hookTimeoutMs });
  }

  private readonly host: PluginHost;

  /** Gives the monitoring notice to the users of these events, when it is due (see {@link Responses.offerNotice}). */
  offerNotice(events: readonly ImEvent[], send: (text: string, about: ImEvent) => boolean, client: string): void {
    if (this.responses?.noticeActive) this.responses.offerNotice(events, send, client);
  }

  get isEmpty(): boolean {
    return this.filters.length === 0 && this.contents.length === 0;
  }

  /** Whether the monitoring notice may be due (callers skip building its arguments otherwise). */
  get noticeActive(): boolean {
    return this.responses?.noticeActive === true;
  }

  /**
   * True when no hook would see these events: no content plugin, and no filter judges any of their types (nor
   * so the recipients' views of them, which have the same types). Their decision is to pass, unchanged.
   */
  passesUnseen(events: readonly ImEvent[]): boolean {
    if (this.contents.length > 0) return false;
    for (const filter of this.filters) for (const event of events) if (judgesType(filter, event.type)) return false;
    return true;
  }

  decide(events: ImEvent[]): FrameDecision | Promise<FrameDecision> {
    const decision: FrameDecision = { block: false, responses: [] };
    return then(this.runFilters(events, 0, 0, decision), () => {
      if (decision.block) return this.finishBlocked(events, decision);
      return then(this.judgeAsRecipients(events, decision), () => (decision.block ? this.finishBlocked(events, decision) : this.runContents(events, 0, decision)));
    });
  }

  /**
   * The recipient's view of each message to another protected user connected through imspect, run through
   * the filters; a blocked view blocks the message here (its categories and reasons carried over). Content
   * plugins and masking play no part: the recipient's connection masks what it receives itself.
   */
  private judgeAsRecipients(events: ImEvent[], decision: FrameDecision): void | Promise<void> {
    const users = this.localUsers;
    if (!users || users.size === 0) return undefined;
    const originals: ImEvent[] = [];
    const views: ImEvent[] = [];
    for (const event of events) {
      if (event.direction !== 'outgoing' || !RECIPIENT_JUDGED_TYPES.has(event.type) || isGroupChat(event) || !users.isLocalRecipient(event)) continue;
      originals.push(event);
      views.push({ ...event, direction: 'incoming', localId: event.remoteId, remoteId: event.localId, filtered: false, categories: [] });
    }
    if (views.length === 0) return undefined;
    const viewDecision: FrameDecision = { block: false, responses: [] };
    return then(this.runFilters(views, 0, 0, viewDecision), () => {
      if (!viewDecision.block) return;
      views.forEach((view, index) => {
        if (!view.filtered) return;
        const original = originals[index]!;
        original.filtered = true;
        for (const category of view.categories) if (!original.categories.includes(category)) original.categories.push(category);
        this.log.info(
          { protocol: original.protocol, type: original.type, localId: original.localId, remoteId: original.remoteId, categories: view.categories },
          `blocked at the sender: the recipient ${original.remoteId} may not receive it`,
        );
      });
      decision.block = true;
      decision.responses.push(...viewDecision.responses);
      if (viewDecision.reasons) (decision.reasons ??= []).push(...viewDecision.reasons);
    });
  }

  /** The replies for a blocked frame: the filters' own texts, rate-limited, or the configured default. */
  private finishBlocked(events: ImEvent[], decision: FrameDecision): FrameDecision {
    if (this.responses) decision.responses = this.responses.blockedReplies(events, decision.responses, decision.reasons);
    return decision;
  }

  /** Runs the filters over the events, marking them and filling `decision`. */
  private runFilters(events: ImEvent[], eventIndex: number, filterIndex: number, decision: FrameDecision): void | Promise<void> {
    for (let e = eventIndex; e < events.length; e++) {
      const event = events[e]!;
      // Filters get a deeply frozen copy (an assignment throws: that filter fails, and what loggers store is
      // untouched), made once per event and again only when a filter's categories or a masked text changed it.
      let view: Readonly<ImEvent> | undefined;
      let viewOf: ImEvent | undefined;
      let viewCategories = -1;
      for (let f = e === eventIndex ? filterIndex : 0; f < this.filters.length; f++) {
        if (event.filtered) break;
        const filter = this.filters[f]!;
        if (!judgesType(filter, event.type)) continue;
        // After a masking filter, the next ones judge the text that would go out (the event keeps the original).
        const subject = decision.text !== undefined && event === rewriteTarget(events) ? { ...event, text: decision.text } : event;
        if (view === undefined || subject !== viewOf || subject.categories.length !== viewCategories) {
          view = frozenEvent(subject);
          viewOf = subject;
          viewCategories = subject.categories.length;
        }
        const verdict = this.check(filter, view);
        if (isPromiseLike(verdict)) {
          return Promise.resolve(verdict).then((v) => {
            this.apply(filter.name, this.validated(filter.name, v), event, events, decision);
            return this.runFilters(events, e, f + 1, decision);
          });
        }
        this.apply(filter.name, this.validated(filter.name, verdict), event, events, decision);
      }
    }
    return undefined;
  }

  private check(filter: NamedFilter, event: Readonly<ImEvent>): Verdict | Promise<Verdict> {
    try {
      const verdict = this.host.call('filter', filter.name, filter.hooks, 'check', event);
      return isPromiseLike(verdict) ? verdict.catch((error: unknown) => this.failedVerdict(filter.name, error)) : verdict;
    } catch (error) {
      return this.failedVerdict(filter.name, error);
    }
  }

  /** A filter's answer if it is a verdict; otherwise a hook failure, handled per `failMode`. */
  private validated(name: string, value: unknown): Verdict {
    // A frozen verdict (a filter's shared PASS) cannot change once checked: checked once, not per event.
    if (checkedVerdicts.has(value as object)) return value as Verdict;
    const problem = verdictProblem(value);
    if (problem === undefined) {
      const categories = (value as Verdict).categories;
      if (Object.isFrozen(value) && (categories === undefined || Object.isFrozen(categories))) checkedVerdicts.add(value as object);
      return value as Verdict;
    }
    return this.failedVerdict(name, new PluginHookError(name, 'check', new Error(problem)));
  }

  private failedVerdict(name: string, error: unknown): Verdict {
    this.log.error({ plugin: name, hook: 'check', err: error, failMode: this.options.failMode }, `filter "${name}" failed`);
    return this.options.failMode === 'closed' ? { action: 'block', categories: [`error ${name}`] } : { action: 'pass' };
  }

  private apply(name: string, verdict: Verdict, event: ImEvent, events: ImEvent[], decision: FrameDecision): void {
    if (verdict.categories?.length) {
      for (const category of verdict.categories) if (!event.categories.includes(category)) event.categories.push(category);
    }
    if (verdict.action === 'block') {
      event.filtered = true;
      decision.block = true;
      if (verdict.respond) decision.responses.push(verdict.respond);
      if (verdict.reason) (decision.reasons ??= []).push(verdict.reason);
      if (verdict.disconnect === true) {
        decision.disconnect = true;
        decision.reason = verdict.reason ?? `filter "${name}" disconnected the client`;
      }
      if (verdict.reason) {
        this.log.info(
          { plugin: name, protocol: event.protocol, type: event.type, localId: event.localId, remoteId: event.remoteId, reason: verdict.reason },
          `blocked by "${name}": ${verdict.reason}`,
        );
      }
    } else if (verdict.text !== undefined && event === rewriteTarget(events)) {
      // A masking filter: the text that goes out; content plugins see it next.
      decision.text = verdict.text;
    }
  }

  private runContents(events: ImEvent[], contentIndex: number, decision: FrameDecision): FrameDecision | Promise<FrameDecision> {
    const target = rewriteTarget(events);
    if (!target) return decision;
    for (let c = contentIndex; c < this.contents.length; c++) {
      const content = this.contents[c]!;
      const current = frozenEvent({ ...target, text: decision.text ?? target.text });
      let result: string | undefined | Promise<string | undefined>;
      try {
        result = this.host.call('content', content.name, content.hooks, 'transform', current);
      } catch (error) {
        this.transformFailed(content.name, error);
        continue;
      }
      if (isPromiseLike(result)) {
        return result
          .catch((error: unknown) => this.transformFailed(content.name, error))
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

  /** A content plugin failed (threw, rejected or timed out): the text stays as it was. */
  private transformFailed(name: string, error: unknown): undefined {
    this.log.error({ plugin: name, hook: 'transform', err: error }, `content plugin "${name}" failed; text left as it was`);
    return undefined;
  }
}

/** Frozen verdicts found valid (see {@link Policy.validated}). */
const checkedVerdicts = new WeakSet<object>();

/**
 * Whether `filter` is to judge an event of `type` ({@link FilterHooks.judges}). Skipping the others saves the
 * call and the event's frozen copy; a `judges` that is not a set, or a getter that throws, counts as every type.
 */
function judgesType(filter: NamedFilter, type: string): boolean {
  try {
    const types = filter.hooks.judges;
    return types === undefined || types.has(type);
  } catch {
    return true;
  }
}

/** `next` after `value`, synchronously when `value` is not a promise (the common case costs no promise). */
function then<T, R>(value: T | Promise<T>, next: (value: T) => R | Promise<R>): R | Promise<R> {
  return isPromiseLike(value) ? Promise.resolve(value).then(next) : next(value);
}

/** The event whose text a rewrite replaces: only a frame's message text can be rewritten; see Frame.rewrite. */
function rewriteTarget(events: readonly ImEvent[]): ImEvent | undefined {
  return events.find((e) => e.type === 'message' && e.text !== undefined);
}
