/**
 * What one IRC connection has established so far (who the local user is, what the server supports, which
 * capabilities are on) and how each parsed line turns into events.
 */
import { presenceData, type Direction, type EventData, type EventDraft } from '@imspect/sdk';
import { parseCtcp, parseDcc } from './ctcp.js';
import { rewriteText, type TextSlot } from './encoder.js';
import { decodeRange, paramText, rangeText, type IrcMessage, type IrcParam } from './message.js';
import { isAsciiRange } from './text.js';
import { ServerInfo } from './server-info.js';

/** What a line means for the frame that carries it. */
export interface LineOutcome {
  events?: EventDraft[];
  rewrite?: (text: string) => Uint8Array;
  /** STARTTLS accepted: after this line both directions carry TLS. */
  upgrade?: 'tls';
}

export interface IrcStateOptions {
  /** Host the connection goes to: the server's name until `001` tells the real one. */
  serverHost: string;
  /** The capture or connection joined mid-way: registration may never be seen. */
  midstream: boolean;
  /** Replace passwords sent to services (`PRIVMSG NickServ :IDENTIFY pw`) in event text. */
  redactPasswords: boolean;
}

/** What the text of a PRIVMSG / NOTICE carries, independent of its targets. */
interface Content {
  type: EventDraft['type'];
  subtype?: string;
  text?: string;
  file?: { name: string; size?: number };
  data?: EventData;
  /** Where the text is, for rewriting (plain messages and actions only). */
  slot?: TextSlot;
}

interface ResolvedTarget {
  remoteId: string;
  conversation: string | undefined;
  /** `from`, `statusmsg` (undefined when none). */
  data: EventData | undefined;
  /** The event travels against the frame (own message relayed by a bouncer). */
  direction: Direction | undefined;
  /** The local user is the sender (outgoing, or relayed own message). */
  fromLocal: boolean;
  /** The target is a nick (private message), as written. */
  nickTarget: string | undefined;
}

const NONE: LineOutcome = {};
/** Most channels a session joined mid-way remembers asking for while it does not know the user's nick. */
const MAX_ASKED = 64;
const TYPING_STATES = new Set(['active', 'paused', 'done']);
const PASSWORD_VERBS = new Set(['IDENTIFY', 'ID', 'REGISTER', 'GHOST', 'RECOVER', 'RELEASE', 'REGAIN', 'GROUP', 'LOGIN', 'AUTH', 'SETPASS']);

export class IrcState {
  /** The local user's current nick. */
  nick: string | undefined;
  /** Bytes were lost (a capture's gap): what the lost part said (the welcome, the nick) may be missing, as mid-stream. */
  private lost = false;
  /** Channels asked for (JOIN, PART) while the nick is unknown in a session joined mid-way, lower-cased. */
  /** Made only for such a session: most never need it. */
  private asked: Set<string> | undefined;
  /**
   * Who the local user is for this connection: the nick `001` confirmed (in a session joined mid-way, the
   * first nick learned, fixed at the first nick change). Every event's `localId`, whatever nick the user
   * goes by later, so one person's rows stay together; the current nick is in `data` (`nick=`) when it
   * differs, and each change is an `other`/`nick` event linking the names.
   */
  identity: string | undefined;
  /** Server name from the `001` prefix. */
  serverName: string | undefined;
  registered = false;
  readonly server = new ServerInfo();
  /** The client negotiated `echo-message`: the server sends the client's own messages back. */
  echoMessage = false;
  private starttlsRequested = false;
  private loggedIn = false;
  private loggedOut = false;

  constructor(private readonly options: IrcStateOptions) {}

  /** Joined mid-way, or bytes were lost since: the login and the nick may not have been seen. */
  private get late(): boolean {
    return this.options.midstream || this.lost;
  }

  /** The session lost bytes (`ProtocolSession.gap`). */
  lostBytes(): void {
    this.lost = true;
  }

  get localId(): string {
    return this.identity ?? this.nick ?? '*';
  }

  /** The nick the user goes by now, when it is not the identity's (undefined otherwise). */
  get aliasNick(): string | undefined {
    return this.identity !== undefined && this.nick !== undefined && this.nick !== this.identity ? this.nick : undefined;
  }

  handle(direction: Direction, m: IrcMessage): LineOutcome {
    const incoming = direction === 'incoming';
    switch (m.command) {
      case 'PRIVMSG':
      case 'NOTICE':
        return this.onMessage(direction, m);
      case 'TAGMSG':
        return this.onTagmsg(direction, m);
      case 'NICK':
        return this.onNick(direction, m);
      case 'JOIN':
        return incoming ? this.onJoin(m) : this.onJoinRequest(m);
      case 'PART':
        if (!incoming) this.askedFor(m);
        return incoming ? this.onPart(m) : NONE;
      case 'KICK':
        return incoming ? this.onKick(m) : NONE;
      case 'QUIT':
        return this.onQuit(direction, m);
      case 'CAP':
        if (incoming) this.onCap(m);
        return NONE;
      case 'STARTTLS':
        if (!incoming) this.starttlsRequested = true;
        return NONE;
      case 'AWAY':
        return incoming ? this.onAwayNotify(m) : this.onAway(m);
    }
    // parseLine guarantees a command is letters or three digits: a leading digit means a numeric.
    if (!incoming || !isDigit(m.command.charCodeAt(0))) return NONE;
    let outcome: LineOutcome = NONE;
    switch (m.command) {
      case '001':
        return this.onWelcome(m);
      case '005':
        this.server.applyIsupport(m.params.slice(1).map((p) => p.value));
        break;
      case '670':
        if (this.starttlsRequested) {
          this.starttlsRequested = false;
          return { upgrade: 'tls' };
        }
        break;
      case '691':
        this.starttlsRequested = false;
        break;
      case '301':
        outcome = this.onRplAway(m);
        break;
    }
    // Any numeric names the client first: a session joined mid-way learns who the local user is.
    if (this.nick === undefined) {
      const target = paramText(m, 0);
      if (target !== undefined && target !== '*' && target.length > 0) this.nick = target;
    }
    if (this.serverName === undefined && m.prefix !== undefined && !m.prefix.hasUserHost) {
      this.serverName = this.prefixName(m);
    }
    return outcome;
  }

  /** `AWAY :text` from the client: the user's own status, away with the text, or back (no text). */
  private onAway(m: IrcMessage): LineOutcome {
    if (this.nick === undefined) return NONE;
    return events([{ type: 'other', subtype: 'status', localId: this.localId, remoteId: this.serverId(), data: awayData(paramText(m, 0)) }]);
  }

  /** `:nick!u@h AWAY [:text]` (IRCv3 away-notify): a contact the user shares a channel with went away or came back. */
  private onAwayNotify(m: IrcMessage): LineOutcome {
    if (m.prefix === undefined || this.nick === undefined || this.fromLocalUser(m)) return NONE;
    const who = this.prefixName(m);
    if (who.length === 0) return NONE;
    return events([{ type: 'contact', subtype: 'status', localId: this.localId, remoteId: who, data: awayData(paramText(m, 0)) }]);
  }

  /** `301 me nick :text` (RPL_AWAY): the server says who the user wrote to or asked about is away. */
  private onRplAway(m: IrcMessage): LineOutcome {
    const who = paramText(m, 1);
    if (who === undefined || who.length === 0 || this.nick === undefined) return NONE;
    const text = paramText(m, 2);
    const data = presenceData({ status: 'away', 'protocol-status': '301', ...(text !== undefined ? { description: text } : {}) });
    return events([{ type: 'contact', subtype: 'status', localId: this.localId, remoteId: who, data }]);
  }

  private onWelcome(m: IrcMessage): LineOutcome {
    const nick = paramText(m, 0);
    if (nick !== undefined && nick.length > 0 && nick !== '*') this.nick = nick;
    this.identity ??= this.nick;
    if (m.prefix !== undefined) this.serverName = this.prefixName(m);
    this.registered = true;
    this.loggedIn = true;
    this.loggedOut = false;
    return { events: [{ type: 'login', localId: this.localId, remoteId: this.serverId() }] };
  }

  /**
   * The server confirms a nick change of the local user with `:old!u@h NICK new`: reported as an `other` event
   * with subtype `nick` whose `remoteId` is the new nick (`data`: `nick=new previous=old`), so the archive links
   * the names; `localId` stays the identity. Other users' nick changes are not the local user's business.
   */
  private onNick(direction: Direction, m: IrcMessage): LineOutcome {
    const next = paramText(m, 0);
    if (next === undefined || next.length === 0) return NONE;
    if (m.prefix !== undefined) {
      const previous = this.nick;
      if (previous === undefined || !this.server.sameName(this.prefixName(m), previous)) return NONE;
      this.identity ??= previous;
      this.nick = next;
      if (next === previous) return NONE;
      return events([{ type: 'other', subtype: 'nick', localId: this.localId, remoteId: next, data: { nick: next, previous } }]);
    }
    // Before registration the client's NICK is who it will be (001 confirms or corrects it); afterwards it
    // is a request that the server confirms with `:old!u@h NICK new`.
    if (direction === 'outgoing' && !this.registered) this.nick = next;
    return NONE;
  }

  /**
   * A session joined mid-way that does not know the user's nick yet remembers the channels the client asked to
   * join or part: the server's echo of that JOIN or PART names the user (see {@link learnFromEcho}).
   */
  private askedFor(m: IrcMessage): void {
    if (this.nick !== undefined || !this.late) return;
    for (const channel of splitList(paramText(m, 0))) {
      const asked = (this.asked ??= new Set());
      if (asked.size < MAX_ASKED) asked.add(channel.toLowerCase());
    }
  }

  /** The echo of a JOIN or PART the client asked for comes from the user: the nick is learned from its prefix. */
  private learnFromEcho(m: IrcMessage): void {
    const asked = this.asked;
    if (this.nick !== undefined || asked === undefined || asked.size === 0 || m.prefix === undefined) return;
    const channels = splitList(paramText(m, 0));
    if (channels.length === 0 || !channels.every((c) => asked.has(c.toLowerCase()))) return;
    this.nick = this.prefixName(m);
    this.asked = undefined;
  }

  private onJoin(m: IrcMessage): LineOutcome {
    this.learnFromEcho(m);
    if (!this.fromLocalUser(m)) return NONE;
    const channels = splitList(paramText(m, 0));
    return events(channels.map((channel) => ({ type: 'join', localId: this.localId, remoteId: channel, conversation: channel })));
  }

  /**
   * The client asks to join: reported as a `join` with subtype `request` (and `request=1`), so a policy can
   * stop it before the server (and the channel's members) see it. The server's `:nick!u@h JOIN` that follows
   * is the join itself. Channel keys are not reported; `JOIN 0` (leave every channel) is no join.
   */
  private onJoinRequest(m: IrcMessage): LineOutcome {
    const list = paramText(m, 0);
    if (list === undefined || list === '0') return NONE;
    this.askedFor(m);
    return events(
      splitList(list).map((channel) => ({ type: 'join', subtype: 'request', localId: this.localId, remoteId: channel, conversation: channel, data: { request: true } })),
    );
  }

  private onPart(m: IrcMessage): LineOutcome {
    this.learnFromEcho(m);
    if (!this.fromLocalUser(m)) return NONE;
    const reason = paramText(m, 1);
    return events(
      splitList(paramText(m, 0)).map((channel) =>
        draft({ type: 'leave', subtype: 'part', localId: this.localId, remoteId: channel, conversation: channel, text: nonEmpty(reason) }),
      ),
    );
  }

  private onKick(m: IrcMessage): LineOutcome {
    if (this.nick === undefined) return NONE;
    const channels = splitList(paramText(m, 0));
    const users = splitList(paramText(m, 1));
    const reason = paramText(m, 2);
    const by = m.prefix === undefined ? undefined : this.prefixName(m);
    const out: EventDraft[] = [];
    users.forEach((user, i) => {
      const channel = channels.length === 1 ? channels[0] : channels[i];
      if (channel === undefined || !this.server.sameName(user, this.nick!)) return;
      out.push(
        draft({
          type: 'leave',
          subtype: 'kick',
          localId: this.localId,
          remoteId: channel,
          conversation: channel,
          text: nonEmpty(reason),
          data: by === undefined ? undefined : { by },
        }),
      );
    });
    return events(out);
  }

  private onQuit(direction: Direction, m: IrcMessage): LineOutcome {
    if (direction === 'incoming' && !this.fromLocalUser(m)) return NONE;
    if (this.loggedOut || !(this.loggedIn || this.late)) return NONE;
    // The client's own QUIT is the user's even when a session joined mid-way never learned the nick.
    if (this.nick === undefined && !(direction === 'outgoing' && this.late)) return NONE;
    this.loggedOut = true;
    return events([draft({ type: 'logout', localId: this.localId, remoteId: this.serverId(), text: nonEmpty(paramText(m, 0)) })]);
  }

  private onCap(m: IrcMessage): void {
    const sub = m.params[1]?.value.toUpperCase();
    const last = m.params[m.params.length - 1];
    if (m.params.length < 3 || last === undefined) return;
    const caps = last.value.split(' ').filter((c) => c.length > 0);
    if (sub === 'ACK') {
      for (const cap of caps) {
        if (cap === 'echo-message') this.echoMessage = true;
        else if (cap === '-echo-message') this.echoMessage = false;
      }
    } else if (sub === 'DEL') {
      if (caps.includes('echo-message')) this.echoMessage = false;
    }
  }

  private onMessage(direction: Direction, m: IrcMessage): LineOutcome {
    const textParam = m.params[1];
    if (textParam === undefined) return NONE;
    const targets = this.resolveTargets(direction, m);
    if (targets.length === 0) return NONE;
    const content = this.messageContent(m, textParam);
    let rewritable = content.slot !== undefined && content.type === 'message';
    const localId = this.localId;
    const out = new Array<EventDraft>(targets.length);
    for (let index = 0; index < targets.length; index++) {
      const target = targets[index]!;
      let text = content.text;
      let data = mergeData(target.data, content.data);
      if (this.options.redactPasswords && content.type === 'message' && target.fromLocal && target.nickTarget !== undefined && text !== undefined) {
        const redacted = redactServicesPassword(target.nickTarget, text);
        if (redacted !== undefined) {
          text = redacted;
          data = mergeData(data, { redacted: 'password' });
          rewritable = false;
        }
      }
      // Built key by key in the order draft() keeps (no fields object, no Object.entries per event).
      // The members every draft has in one literal (in that order), so that fewer are added one by one.
      const event: Partial<Record<keyof EventDraft, unknown>> =
        content.subtype === undefined
          ? { type: content.type, localId, remoteId: target.remoteId }
          : { type: content.type, subtype: content.subtype, localId, remoteId: target.remoteId };
      if (target.conversation !== undefined) event.conversation = target.conversation;
      if (text !== undefined) event.text = text;
      if (content.file !== undefined) event.file = content.file;
      if (data !== undefined) event.data = data;
      if (target.direction !== undefined) event.direction = target.direction;
      out[index] = event as EventDraft;
    }
    const outcome: LineOutcome = { events: out };
    if (rewritable && out.length === 1 && content.slot !== undefined) {
      const slot = content.slot;
      outcome.rewrite = (text) => rewriteText(m, slot, text);
    }
    return outcome;
  }

  private onTagmsg(direction: Direction, m: IrcMessage): LineOutcome {
    const state = m.tags?.get('+typing') ?? m.tags?.get('+draft/typing');
    if (state === undefined || !TYPING_STATES.has(state)) return NONE;
    const targets = this.resolveTargets(direction, m);
    return events(
      targets.map((target) =>
        draft({
          type: 'typing',
          subtype: state,
          localId: this.localId,
          remoteId: target.remoteId,
          conversation: target.conversation,
          data: target.data,
          direction: target.direction,
        }),
      ),
    );
  }

  /**
   * The conversations a PRIVMSG / NOTICE / TAGMSG goes to, one per comma-separated target. Messages from the
   * server itself (no prefix, or a server name) have none; so has the echo of the client's own message when
   * `echo-message` is on.
   */
  private resolveTargets(direction: Direction, m: IrcMessage): ResolvedTarget[] {
    const list = splitList(paramText(m, 0));
    let sender: string | undefined;
    let own = false;
    if (direction === 'incoming') {
      if (m.prefix === undefined) return [];
      sender = this.prefixName(m);
      if (!m.prefix.hasUserHost && (sender.includes('.') || (this.serverName !== undefined && sender === this.serverName))) {
        return []; // a server notice, not a user's message
      }
      own = this.nick !== undefined && this.server.sameName(sender, this.nick);
      if (own && this.echoMessage) return [];
    }
    // Sized up front: an array grown by `push` from empty reserves room for 17 (per message, most have one target).
    const out = new Array<ResolvedTarget>(list.length);
    for (let index = 0; index < list.length; index++) {
      const target = this.server.classify(list[index]!);
      // An incoming message from the local nick is the client's own message, sent from another client
      // (a bouncer relays it) -- except a message to oneself, which is received like any other.
      const selfTarget = target.kind === 'nick' && this.nick !== undefined && this.server.sameName(target.nick, this.nick);
      const fromLocal = direction === 'outgoing' || (own && !selfTarget);
      // Every member in the literal (undefined until known): one object of its final shape, nothing added later.
      const resolved: ResolvedTarget = {
        remoteId: '',
        conversation: undefined,
        data: undefined,
        direction: direction === 'incoming' && fromLocal ? 'outgoing' : undefined,
        fromLocal,
        nickTarget: undefined,
      };
      if (target.kind === 'channel') {
        resolved.remoteId = target.channel;
        resolved.conversation = target.channel;
        if (!fromLocal && sender !== undefined) resolved.data = { from: sender };
        if (target.statusmsg.length > 0) resolved.data = mergeData(resolved.data, { statusmsg: target.statusmsg });
      } else if (fromLocal) {
        resolved.remoteId = target.nick;
        resolved.nickTarget = target.nick;
      } else {
        if (this.nick === undefined && direction === 'incoming') this.nick = target.nick;
        resolved.remoteId = sender ?? target.nick;
      }
      out[index] = resolved;
    }
    return out;
  }

  private messageContent(m: IrcMessage, p: IrcParam): Content {
    const notice = m.command === 'NOTICE';
    const ctcp = parseCtcp(p.value);
    if (ctcp === undefined) {
      // ASCII text is its Latin-1 string already (the parameter's value): nothing to decode, no new string.
      const decoded = isAsciiRange(m.bytes, p.start, p.end) ? undefined : decodeRange(m, p.start, p.end);
      return {
        type: 'message',
        subtype: notice ? 'notice' : undefined,
        text: decoded === undefined ? p.value : decoded.text,
        slot: { param: p, start: p.start, end: p.end, encoding: decoded === undefined ? 'utf-8' : decoded.encoding, insideCtcp: false },
      };
    }
    const start = p.start + ctcp.argsStart;
    const end = p.start + ctcp.argsEnd;
    const args = decodeRange(m, start, end);
    if (ctcp.command === 'ACTION') {
      return {
        type: 'message',
        subtype: 'action',
        text: args.text,
        slot: { param: p, start, end, encoding: args.encoding, insideCtcp: true },
      };
    }
    if (ctcp.command === 'DCC' && !notice) {
      const dcc = parseDcc(args.text);
      if (dcc !== undefined && dcc.kind !== 'other') {
        const data: Record<string, string | number> = {};
        if (dcc.host !== undefined && dcc.port !== undefined) {
          data['address'] = dcc.host;
          data['port'] = dcc.port;
        }
        if (dcc.token !== undefined) data['token'] = dcc.token;
        if (dcc.type !== 'SEND' && dcc.type !== 'CHAT') data['dcc'] = dcc.type;
        if (dcc.kind === 'send') {
          const file: { name: string; size?: number } = { name: dcc.fileName ?? '' };
          if (dcc.size !== undefined) file.size = dcc.size;
          return { type: 'file', subtype: 'dcc-send', file, data };
        }
        return { type: 'file', subtype: 'dcc-chat', data };
      }
    }
    return {
      type: 'other',
      subtype: notice ? 'ctcp-reply' : 'ctcp',
      text: nonEmpty(args.text),
      data: { ctcp: ctcp.command },
    };
  }

  /** The line comes from the local user (prefix nick is the local nick). */
  private fromLocalUser(m: IrcMessage): boolean {
    return m.prefix !== undefined && this.nick !== undefined && this.server.sameName(this.prefixName(m), this.nick);
  }

  private prefixName(m: IrcMessage): string {
    const prefix = m.prefix!;
    return rangeText(m, prefix.nameStart, prefix.nameEnd, prefix.name);
  }

  private serverId(): string {
    return this.serverName ?? this.options.serverHost;
  }
}

/** `PRIVMSG NickServ :IDENTIFY secret` -> `IDENTIFY [redacted]`; undefined when there is nothing to hide. */
export function redactServicesPassword(target: string, text: string): string | undefined {
  const name = target.split('@')[0]!.toLowerCase();
  if (!name.endsWith('serv') && !(name === 'q' && /@cserve\./i.test(target))) return undefined;
  const words = text.trim().split(/ +/);
  const verb = (words[0] ?? '').toUpperCase();
  if (PASSWORD_VERBS.has(verb) && words.length > 1) return `${words[0]} [redacted]`;
  if (verb === 'SET' && (words[1] ?? '').toUpperCase() === 'PASSWORD') return `${words[0]} ${words[1]} [redacted]`;
  return undefined;
}

/** An away message means away (IRC has no other states); none means back, online. `protocol-status`: the command. */
function awayData(text: string | undefined): EventData {
  const away = text !== undefined && text.length > 0;
  return presenceData({ status: away ? 'away' : 'online', 'protocol-status': 'AWAY', ...(away ? { description: text } : {}) });
}

function splitList(value: string | undefined): string[] {
  if (value === undefined) return [];
  if (!value.includes(',')) return value.length > 0 ? [value] : [];
  return value.split(',').filter((item) => item.length > 0);
}

/** Two sets of pairs as one (either may be absent). */
function mergeData(a: EventData | undefined, b: EventData | undefined): EventData | undefined {
  return a === undefined ? b : b === undefined ? a : { ...a, ...b };
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

function nonEmpty(text: string | undefined): string | undefined {
  return text === undefined || text.length === 0 ? undefined : text;
}

function events(list: EventDraft[]): LineOutcome {
  return list.length === 0 ? NONE : { events: list };
}

/** An event draft without the keys whose value is undefined. */
function draft(fields: { [K in keyof EventDraft]: EventDraft[K] | undefined }): EventDraft {
  const out: Record<string, unknown> = {};
  for (const key in fields) {
    const value = fields[key as keyof EventDraft];
    if (value !== undefined) out[key] = value;
  }
  return out as unknown as EventDraft;
}
