/**
 * `OscarSession`: the ProtocolSession for one OSCAR connection (authorizer, BOS server, or another service
 * reached by cookie; which one follows from what is said). Bytes in, one frame per FLAP out; no I/O, no timers,
 * no logging, nothing thrown on any input.
 */
import type { Direction, EventDraft, Frame, ImEvent, ProtocolError, ProtocolSession, ServerEndpoint, SessionContext } from '@imspect/sdk';
import { buildIncomingCancel, buildIncomingMessage, buildOutgoingCancel, rewriteChannel1, rewriteChannel4, spliceFlap } from './encoder.js';
import { eventData, type EventDataPairs } from './event-data.js';
import { ItemClass, readItems, readRoster } from './feedbag.js';
import { Channel, encodeFlap, FLAP_HEADER_BYTES, MAX_FLAP_BYTES, type FlapHeader } from './flap.js';
import { FlapReader } from './flap-reader.js';
import { readChannel1, readChannel4, readIcbm, readRendezvous, readServerRelay, readTyping, RendezvousType, type IcbmHeader, type Rendezvous } from './icbm.js';
import { MetaType, readMeta, readOfflineMessage } from './icq-meta.js';
import { formatServerAddress, parseServerAddress, readAuthReply, readBucpRequest, readSignOn, type AuthReply, type ClientInfo, type SignOn } from './login.js';
import type { OscarRoutes } from './routes.js';
import { decodeName, normaliseScreenName, screenNameId, UNKNOWN_ID } from './screen-name.js';
import { encodeSnac, Family, readSnac, type Snac } from './snac.js';
import { htmlToText, looksLikeHtml } from './text.js';
import { concat, numberOf, tlv, u16 } from './tlv.js';
import { readChatMessage, readRoomInfo } from './chat.js';
import { Cursor } from './cursor.js';
import { OftStream, OftType, startsOft } from './oft.js';
import { readBuddyPresence, readOwnStatus } from './presence.js';

/** "O", "OF", "OFT": the start of an OFT header, not yet decided. */
function isOftPrefix(bytes: Uint8Array): boolean {
  const magic = [0x4f, 0x46, 0x54];
  return bytes.every((b, i) => b === magic[i]);
}

/** Every FLAP fits: the length is a u16. */
export const DEFAULT_MAX_FLAP_BYTES = MAX_FLAP_BYTES;
/** Error code of an authorizer reply that turns an old client away ("upgrade required"). */
const ERROR_CLIENT_TOO_OLD = 0x001b;

export interface OscarSessionOptions {
  /** Cookies shared by the plugin's sessions (identity on the BOS connection; forward-listener routing). */
  routes?: OscarRoutes;
  /** Report typing notifications (default true). */
  typing?: boolean;
  /** Sender of notices that concern no conversation (a login, the client). */
  noticeName?: string;
}

interface Outcome {
  events?: EventDraft[];
  rewrite?: (text: string) => Uint8Array;
  refusal?: () => Uint8Array | undefined;
  replacement?: Uint8Array;
  error?: ProtocolError;
  /** The FLAP carries a password (roasted or hashed) or a sign-on cookie: core never shows its bytes. */
  secret?: boolean;
}

export class OscarSession implements ProtocolSession {
  readonly maxFlapBytes: number;
  private readers: Record<Direction, FlapReader>;
  /**
   * What each direction carries, decided by its first bytes: FLAPs, or OFT (a peer-to-peer file transfer, often on
   * the OSCAR port). Until then, up to 3 bytes that may start "OFT2" are held.
   */
  private readonly kind: Record<Direction, 'undecided' | 'flap' | 'oft'>;
  private readonly startHeld: Record<Direction, Uint8Array> = { outgoing: new Uint8Array(0), incoming: new Uint8Array(0) };
  private readonly oft: Record<Direction, OftStream> = { outgoing: new OftStream(), incoming: new OftStream() };
  private readonly routes: OscarRoutes | undefined;
  private readonly listener: ServerEndpoint | undefined;
  private readonly server: ServerEndpoint;
  private readonly typing: boolean;
  private readonly noticeName: string;

  private local: string | undefined;
  /** A BOS connection: messages flow on it, and the client shows an ICBM imspect sends. */
  private bos = false;
  private loggedOut = false;
  /** The last message was HTML (AIM): imspect's notices are written the same way. */
  private html = false;
  /** The client named in the login request, for the login event. */
  private client: ClientInfo = {};
  private readonly lastSequence: Record<Direction, number> = { outgoing: 0, incoming: 0 };
  /** Feedbag group ids to names (from the roster), for contact events. */
  private readonly groups = new Map<number, string>();
  private injected = 0;
  /** The chat room of a chat connection, once the server named it. */
  private room: string | undefined;
  /** A cookie sign-on whose login imspect did not report on the authorizer connection. */
  private signOnUnreported = false;
  /** The forward listener greeted the client in the server's place: the server's own hello is not passed on. */
  private serverHelloPending: boolean;

  constructor(ctx: SessionContext, options: OscarSessionOptions = {}) {
    const max = Number.isFinite(ctx.maxFrameSize) ? Math.floor(ctx.maxFrameSize) : DEFAULT_MAX_FLAP_BYTES;
    this.maxFlapBytes = Math.min(MAX_FLAP_BYTES, Math.max(FLAP_HEADER_BYTES, max));
    const midstream = ctx.midstream === true;
    this.readers = { outgoing: new FlapReader(this.maxFlapBytes, midstream), incoming: new FlapReader(this.maxFlapBytes, midstream) };
    // A stream joined mid-way cannot be told from its first bytes: FLAPs, found by resynchronising.
    this.kind = midstream ? { outgoing: 'flap', incoming: 'flap' } : { outgoing: 'undecided', incoming: 'undecided' };
    this.routes = options.routes;
    this.listener = ctx.listener;
    this.server = ctx.server;
    this.typing = options.typing !== false;
    this.noticeName = options.noticeName ?? 'imspect';
    this.serverHelloPending = ctx.greeted === true;
  }

  get localId(): string | undefined {
    return this.local;
  }

  bufferedBytes(direction: Direction): number {
    return this.startHeld[direction].length + this.readers[direction].buffered + this.oft[direction].buffered;
  }

  push(direction: Direction, chunk: Uint8Array): Frame[] {
    let data = chunk;
    if (this.kind[direction] === 'undecided') {
      const held = this.startHeld[direction];
      data = held.length === 0 ? chunk : concat([held, chunk]);
      if (data.length < 4 && isOftPrefix(data)) {
        this.startHeld[direction] = data.slice();
        return [];
      }
      this.startHeld[direction] = new Uint8Array(0);
      this.kind[direction] = startsOft(data) ? 'oft' : 'flap';
    }
    return this.kind[direction] === 'oft' ? this.oftFrames(direction, data) : this.flapFrames(direction, data);
  }

  /** A peer-to-peer transfer: the sender's prompt names the file; everything passes through. */
  private oftFrames(direction: Direction, chunk: Uint8Array): Frame[] {
    return this.oft[direction].push(chunk).map((item) => {
      if (item.kind === 'pass' || item.header.type !== OftType.PROMPT) return { raw: item.raw };
      const { header } = item;
      // The subtype names the mechanism; `transfer` is a transfer's id on other protocols, so it is not used here.
      const data: EventDataPairs = {};
      if (header.totalFiles > 1) data.files = header.totalFiles;
      return { raw: item.raw, events: [this.event('file', this.server.host, { subtype: 'oft', file: { name: header.name, size: header.size } }, data)] };
    });
  }

  private flapFrames(direction: Direction, chunk: Uint8Array): Frame[] {
    const frames: Frame[] = [];
    for (const item of this.readers[direction].push(chunk)) {
      switch (item.kind) {
        case 'flap':
          frames.push(this.flap(direction, item.raw, item.header));
          break;
        case 'too-large':
          frames.push({
            raw: item.raw,
            error: { code: 'frame-too-large', message: `FLAP of ${FLAP_HEADER_BYTES + item.header.length} bytes is longer than ${this.maxFlapBytes}; passed through unparsed` },
          });
          break;
        case 'rest':
          frames.push({ raw: item.raw });
          break;
        case 'garbage':
          frames.push(
            item.first ? { raw: item.raw, error: { code: 'not-flap', message: 'bytes that are not a FLAP; passed through up to the next FLAP start marker' } } : { raw: item.raw },
          );
          break;
      }
    }
    return frames;
  }

  end(direction: Direction): Frame[] {
    const held = this.startHeld[direction];
    this.startHeld[direction] = new Uint8Array(0);
    const rest = this.kind[direction] === 'oft' ? this.oft[direction].end() : this.readers[direction].end();
    return [held, rest].filter((b): b is Uint8Array => b !== undefined && b.length > 0).map((raw) => ({ raw }));
  }

  /**
   * Bytes were lost: what was held is passed through, and a FLAP stream looks for the next FLAP start (the
   * `0x2a` marker with a valid channel) as a stream joined mid-way does. An OFT transfer carries no events: its
   * bytes after the hole simply pass.
   */
  gap(direction: Direction, _bytesMissing: number): Frame[] {
    const frames = this.end(direction);
    if (this.kind[direction] !== 'oft') {
      this.kind[direction] = 'flap';
      this.readers[direction] = new FlapReader(this.maxFlapBytes, true);
    }
    return frames;
  }

  /**
   * A message to the local client, as the server delivers one: from the other party of `about` (so it shows in
   * that conversation), else from the notice name. Only on a BOS connection still signed on.
   */
  respond(text: string, about?: ImEvent): Uint8Array | undefined {
    if (!this.bos || this.loggedOut) return undefined;
    const conversation = about !== undefined && (about.type === 'message' || about.type === 'typing' || about.type === 'file' || about.type === 'webcam');
    const from = conversation && about.remoteId !== '' && about.remoteId !== UNKNOWN_ID ? about.remoteId : this.noticeName;
    return buildIncomingMessage({ sequence: this.nextSequence('incoming'), cookie: this.nextCookie() }, from, text, this.html);
  }

  private nextSequence(direction: Direction): number {
    return (this.lastSequence[direction] + 1) & 0xffff;
  }

  /** Cookies of imspect's own messages: "imsp" and a counter, never a client's. */
  private nextCookie(): Uint8Array {
    const n = ++this.injected;
    return Uint8Array.of(0x69, 0x6d, 0x73, 0x70, (n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);
  }

  private get me(): string {
    return this.local ?? UNKNOWN_ID;
  }

  private learnLocal(id: string | undefined): void {
    if (id !== undefined && id !== '') this.local = normaliseScreenName(id);
  }

  private flap(direction: Direction, raw: Uint8Array, header: FlapHeader): Frame {
    this.lastSequence[direction] = header.sequence;
    const frame: Frame = { raw };
    let outcome: Outcome;
    switch (header.channel) {
      case Channel.SIGNON:
        outcome = direction === 'outgoing' ? this.signOn(raw) : this.serverHello();
        break;
      case Channel.SNAC: {
        const read = readSnac(raw);
        outcome = 'error' in read ? { error: { code: 'truncated-snac', message: read.error } } : this.snac(direction, raw, read.snac);
        break;
      }
      case Channel.SIGNOFF:
        outcome = this.signOff(direction, raw);
        break;
      default:
        outcome = {};
    }
    if (outcome.events !== undefined && outcome.events.length > 0) frame.events = outcome.events;
    if (outcome.rewrite !== undefined) frame.rewrite = outcome.rewrite;
    if (outcome.refusal !== undefined) frame.refusal = outcome.refusal;
    if (outcome.replacement !== undefined) frame.replacement = outcome.replacement;
    if (outcome.error !== undefined) frame.error = outcome.error;
    if (outcome.secret === true) frame.secret = true;
    return frame;
  }

  private event(type: EventDraft['type'], remoteId: string, extra: Partial<EventDraft> = {}, data?: EventDataPairs): EventDraft {
    const event: EventDraft = { type, localId: this.me, remoteId, ...extra };
    const pairs = data === undefined ? undefined : eventData(data);
    if (pairs !== undefined) event.data = pairs;
    return event;
  }

  private clientData(info: ClientInfo): EventDataPairs {
    const data: EventDataPairs = {};
    if (info.name !== undefined) data.client = info.name;
    if (info.version !== undefined) data.version = info.version;
    if (info.id !== undefined) data['client-id'] = info.id;
    return data;
  }

  private tlvError(error: string | undefined): ProtocolError | undefined {
    return error === undefined ? undefined : { code: 'tlv-overflow', message: error };
  }

  // ---- signing on and off

  /** The server's hello: dropped once when the listener already said it to the client (see `greeted`). */
  private serverHello(): Outcome {
    if (!this.serverHelloPending) return {};
    this.serverHelloPending = false;
    return { replacement: new Uint8Array(0) };
  }

  /** Channel 1 from the client: a password login to the authorizer, a hello before BUCP, or a cookie. */
  private signOn(raw: Uint8Array): Outcome {
    const request = readSignOn(raw);
    const outcome: Outcome = {};
    const error = this.tlvError(request.error);
    if (error) outcome.error = error;
    if (request.secret !== undefined || request.cookie !== undefined) outcome.secret = true;
    if (request.cookie !== undefined) {
      const entry = this.routes?.lookup(request.cookie);
      if (entry?.localId !== undefined) this.local = entry.localId;
      if (entry?.kind === 'bos') this.bos = true;
      // The authorizer's reply was not seen (TLS to the authorizer, a capture of the BOS connection only): the
      // login is reported when the client says it is ready on the BOS server.
      else this.signOnUnreported = entry === undefined;
      if (entry?.client !== undefined) this.client = entry.client;
      if (request.client.name !== undefined || request.client.version !== undefined) {
        this.client = request.client;
        outcome.events = [this.event('other', this.server.host, { subtype: 'client' }, this.clientData(request.client))];
      }
      return outcome;
    }
    if (request.screenName === undefined) return outcome; // the hello before a BUCP login
    return { ...outcome, ...this.loginRequest(request, () => encodeFlap(Channel.SIGNOFF, this.nextSequence('incoming'), this.loginError(request))) };
  }

  /** A login request (password on channel 1, or BUCP 0x17/0x02): the client, reported before the answer. */
  private loginRequest(request: SignOn, refusal: () => Uint8Array): Outcome {
    this.learnLocal(request.screenName);
    this.client = request.client;
    const data: EventDataPairs = this.clientData(request.client);
    if (request.secret !== undefined) data.auth = request.secret === 'md5' ? 'md5' : 'roasted';
    // Reported now, so a policy can turn an old client away on this very request.
    return { events: [this.event('other', this.server.host, { subtype: 'client' }, data)], refusal, secret: true };
  }

  /** An authorizer's "login refused" for a blocked login request: the screen name and error 0x1B. */
  private loginError(request: SignOn): Uint8Array {
    const name = new TextEncoder().encode(request.screenName ?? '').subarray(0, 255);
    return concat([tlv(0x0001, name), tlv(0x0008, u16(ERROR_CLIENT_TOO_OLD))]);
  }

  /** The authorizer's answer: BOS address and cookie, or an error code. */
  private authReply(raw: Uint8Array, reply: AuthReply): Outcome {
    const outcome: Outcome = {};
    const error = this.tlvError(reply.error);
    if (error) outcome.error = error;
    if (reply.screenName !== undefined) this.learnLocal(reply.screenName);
    if (reply.errorCode !== undefined) {
      outcome.events = [this.event('other', this.server.host, { subtype: 'login-failed' }, { error: reply.errorCode })];
      return outcome;
    }
    if (reply.cookie === undefined) return outcome;
    outcome.secret = true;
    const redirect = this.redirect(raw, reply, 'bos');
    if (redirect !== undefined) outcome.replacement = redirect;
    outcome.events = [this.event('login', this.server.host, {}, this.clientData(this.client))];
    return outcome;
  }

  /**
   * Remembers what a cookie stands for, and through a forward listener points the client at imspect: the
   * server address replaced by the listener's, the real one remembered for the cookie's connection.
   */
  private redirect(raw: Uint8Array, reply: AuthReply, kind: 'bos' | 'service'): Uint8Array | undefined {
    if (reply.cookie === undefined || this.routes === undefined) return undefined;
    const real = reply.address === undefined ? undefined : parseServerAddress(reply.address);
    const rewrite = this.listener !== undefined && real !== undefined && reply.addressTlv !== undefined;
    this.routes.remember(reply.cookie, {
      kind,
      ...(this.local !== undefined ? { localId: this.local } : {}),
      ...(Object.keys(this.client).length > 0 ? { client: this.client } : {}),
      ...(rewrite ? { server: real } : {}),
    });
    if (!rewrite) return undefined;
    const address = new TextEncoder().encode(formatServerAddress(this.listener!));
    return spliceFlap(raw, reply.addressTlv!.start, reply.addressTlv!.valueEnd, tlv(0x0005, address));
  }

  /** Channel 4: the authorizer's answer to a password login, or the end of a BOS session. */
  private signOff(direction: Direction, raw: Uint8Array): Outcome {
    if (direction === 'incoming') {
      const reply = readAuthReply(raw, FLAP_HEADER_BYTES);
      if (reply.cookie !== undefined || reply.errorCode !== undefined) return this.authReply(raw, reply);
      if (!this.bos || this.loggedOut) return {};
      this.loggedOut = true;
      // A numeric code is `error` (as on a refused login); `reason` is text on every protocol.
      const data: EventDataPairs = reply.disconnectReason === undefined ? {} : { error: reply.disconnectReason };
      return { events: [this.event('logout', this.server.host, { subtype: 'disconnected' }, data)] };
    }
    if (this.room !== undefined && !this.loggedOut) {
      this.loggedOut = true;
      return { events: [this.event('leave', this.room, { subtype: 'chat', conversation: this.room })] };
    }
    if (!this.bos || this.loggedOut) return {};
    this.loggedOut = true;
    return { events: [this.event('logout', this.server.host)] };
  }

  // ---- SNACs

  private snac(direction: Direction, raw: Uint8Array, snac: Snac): Outcome {
    const out = direction === 'outgoing';
    switch (snac.family) {
      case Family.GENERIC:
        if (out && snac.subtype === 0x001e) return this.ownStatus(raw, snac);
        return out ? this.clientReady(snac) : this.generic(raw, snac);
      case Family.BUDDY:
        return !out && (snac.subtype === 0x000b || snac.subtype === 0x000c) ? this.buddyPresence(raw, snac) : {};
      case Family.ICBM:
        this.bos = true;
        if (snac.subtype === 0x0006 && out) return this.icbm('outgoing', raw, snac);
        if (snac.subtype === 0x0007 && !out) return this.icbm('incoming', raw, snac);
        if (snac.subtype === 0x0014) return this.typingNotice(raw, snac);
        return {};
      case Family.CHAT:
        return this.chat(direction, raw, snac);
      case Family.SSI:
        return this.feedbag(direction, raw, snac);
      case Family.ICQ:
        return this.icqMeta(direction, raw, snac);
      case Family.BUCP:
        return this.bucp(direction, raw, snac);
      default:
        return {};
    }
  }

  /** 0x03/0x0B, 0x03/0x0C: buddies arriving (with their status) and departing. */
  private buddyPresence(raw: Uint8Array, snac: Snac): Outcome {
    const read = readBuddyPresence(raw, snac.dataStart, snac.end, snac.subtype === 0x000c);
    const events = read.buddies.filter((b) => b.who !== this.localId).map((b) => this.event('contact', b.who, { subtype: 'status', data: b.data }));
    const error = this.tlvError(read.error);
    return { ...(events.length > 0 ? { events } : {}), ...(error ? { error } : {}) };
  }

  /** 0x01/0x1E: the client sets its own status (TLV 6). */
  private ownStatus(raw: Uint8Array, snac: Snac): Outcome {
    const data = readOwnStatus(raw, snac.dataStart, snac.end);
    return data === undefined ? {} : { events: [this.event('other', this.server.host, { subtype: 'status', data })] };
  }

  /** 0x01/0x02 on the BOS server: the client is online; the login, unless the authorizer's reply reported it. */
  private clientReady(snac: Snac): Outcome {
    if (snac.subtype !== 0x0002 || !this.bos || !this.signOnUnreported) return {};
    this.signOnUnreported = false;
    return { events: [this.event('login', this.server.host, { subtype: 'bos' }, this.clientData(this.client))] };
  }

  private generic(raw: Uint8Array, snac: Snac): Outcome {
    switch (snac.subtype) {
      case 0x0003: {
        // Families the server offers: the BOS server is the one with messaging.
        const c = new Cursor(raw, snac.dataStart, snac.end);
        while (c.left >= 2) if (c.u16() === Family.ICBM) this.bos = true;
        return {};
      }
      case 0x0005: {
        const reply = readAuthReply(raw, snac.dataStart);
        const replacement = this.redirect(raw, reply, 'service');
        const error = this.tlvError(reply.error);
        return { ...(replacement ? { replacement } : {}), ...(error ? { error } : {}), ...(reply.cookie !== undefined ? { secret: true } : {}) };
      }
      case 0x000f: {
        // The client's own user info: names the local user even when the login was not seen.
        const c = new Cursor(raw, snac.dataStart, snac.end);
        const name = c.take(c.u8());
        if (!c.overflow && name.length > 0) this.learnLocal(decodeName(name));
        return {};
      }
      default:
        return {};
    }
  }

  private bucp(direction: Direction, raw: Uint8Array, snac: Snac): Outcome {
    if (direction === 'outgoing') {
      if (snac.subtype === 0x0006) {
        this.learnLocal(readBucpRequest(raw, snac.dataStart).screenName);
        return {};
      }
      if (snac.subtype === 0x0002) {
        const request = readBucpRequest(raw, snac.dataStart);
        const outcome = this.loginRequest(request, () =>
          encodeFlap(Channel.SNAC, this.nextSequence('incoming'), encodeSnac(Family.BUCP, 0x0003, 0, snac.requestId, this.loginError(request))),
        );
        const error = this.tlvError(request.error);
        return error ? { ...outcome, error } : outcome;
      }
      return {};
    }
    if (snac.subtype === 0x0003) return this.authReply(raw, readAuthReply(raw, snac.dataStart));
    return {};
  }

  // ---- messages

  private icbm(direction: Direction, raw: Uint8Array, snac: Snac): Outcome {
    const header = readIcbm(raw, snac, direction === 'incoming');
    if (!('tlvs' in header)) return { error: { code: 'truncated-snac', message: header.error } };
    const icbm: IcbmHeader = header;
    const error = icbm.error === undefined ? undefined : { code: 'tlv-overflow', message: `ICBM: ${icbm.error}` };
    const remote = screenNameId(icbm.name) || UNKNOWN_ID;
    let outcome: Outcome;
    switch (icbm.channel) {
      case 1:
        outcome = this.channel1(direction, raw, icbm, remote);
        break;
      case 2:
        outcome = this.channel2(direction, icbm, raw, remote);
        break;
      case 4:
        outcome = this.channel4(raw, icbm, remote);
        break;
      default:
        outcome = {};
    }
    if (error !== undefined && outcome.error === undefined) outcome.error = error;
    return outcome;
  }

  private channel1(direction: Direction, raw: Uint8Array, icbm: IcbmHeader, remote: string): Outcome {
    const message = readChannel1(raw, icbm.tlvs);
    if (message === undefined) return {};
    const html = looksLikeHtml(message.text);
    this.html = html;
    const data: EventDataPairs = {};
    if (html) data.html = message.text;
    // TLV 4: an automatic reply (away message); TLV 0x16 (the send time, which only the server stamps, on a
    // message it replays from offline storage): delivered at login.
    const auto = icbm.tlvs.some((t) => t.type === 0x0004);
    const sent = direction === 'incoming' ? numberOf(raw, icbm.tlvs, 0x0016) : undefined;
    const offline = sent !== undefined;
    if (offline) {
      data.offline = true;
      data.sent = new Date(sent * 1000).toISOString();
    }
    const subtype = auto ? { subtype: 'auto-reply' } : offline ? { subtype: 'offline' } : {};
    const event = this.event('message', remote, { ...subtype, text: html ? htmlToText(message.text) : message.text }, data);
    const outcome: Outcome = { events: [event] };
    if (message.error !== undefined) outcome.error = { code: 'tlv-overflow', message: `ICBM text: ${message.error}` };
    else outcome.rewrite = (text) => rewriteChannel1(raw, message, text, html);
    return outcome;
  }

  private channel2(direction: Direction, icbm: IcbmHeader, raw: Uint8Array, remote: string): Outcome {
    const rv = readRendezvous(raw, icbm.tlvs);
    if (rv === undefined) return {};
    if ('error' in rv) return { error: { code: 'truncated-snac', message: `rendezvous: ${rv.error}` } };
    if (rv.service === 'icq-server-relay') return this.serverRelay(rv, raw, remote);
    const data: EventDataPairs = { service: rv.service };
    if (rv.type !== RendezvousType.PROPOSE) {
      const subtype = rv.type === RendezvousType.ACCEPT ? 'rendezvous-accept' : rv.type === RendezvousType.CANCEL ? 'rendezvous-cancel' : 'rendezvous';
      return { events: [this.event('other', remote, { subtype }, data)] };
    }
    if (rv.address !== undefined) data.address = rv.address;
    if (rv.port !== undefined) data.port = rv.port;
    if (rv.file !== undefined && rv.file.count > 1) data.files = rv.file.count;
    const cookie = rv.cookie.slice();
    const capability = rv.capability.slice();
    const refusal =
      direction === 'outgoing'
        ? () => buildIncomingCancel({ sequence: this.nextSequence('incoming'), cookie }, remote, capability)
        : () => buildOutgoingCancel({ sequence: this.nextSequence('outgoing'), cookie }, remote, capability);
    const extra: Partial<EventDraft> = rv.message !== undefined && rv.message !== '' ? { text: rv.message } : {};
    let event: EventDraft;
    if (rv.service === 'file-transfer' && rv.file !== undefined) {
      event = this.event('file', remote, { subtype: 'file-transfer', file: { name: rv.file.name, size: rv.file.size }, ...extra }, data);
    } else if (rv.service === 'file-transfer' || rv.service === 'file-sharing') {
      event = this.event('file', remote, { subtype: rv.service, file: { name: '' }, ...extra }, data);
    } else if (rv.service === 'video') {
      event = this.event('webcam', remote, { subtype: 'invite', ...extra }, data);
    } else {
      event = this.event('other', remote, { subtype: rv.service === 'direct-connect' ? 'direct-connect' : 'rendezvous', ...extra }, data);
    }
    return { events: [event], refusal };
  }

  /** An ICQ message relayed on channel 2: type 1 is a message (others ask for away messages and the like). */
  private serverRelay(rv: Rendezvous, raw: Uint8Array, remote: string): Outcome {
    if (rv.type !== RendezvousType.PROPOSE || rv.extension === undefined) return {};
    const message = readServerRelay(raw, rv.extension);
    if (message === undefined || message.type !== 0x01 || message.text === '') return {};
    return { events: [this.event('message', remote, { subtype: 'icq', text: message.text })] };
  }

  private channel4(raw: Uint8Array, icbm: IcbmHeader, remote: string): Outcome {
    const message = readChannel4(raw, icbm.tlvs);
    if (message === undefined) return {};
    if ('error' in message) return { error: { code: 'truncated-snac', message: message.error } };
    // Type 1: a message; 4: a URL ("description FE url"); others (authorization, "you were added") are not text.
    if (message.type !== 0x01 && message.type !== 0x04) return {};
    const url = message.type === 0x04;
    const text = url ? message.text.split('\xfe').join(' ') : message.text;
    const event = this.event('message', remote, { subtype: url ? 'url' : 'icq', text });
    const outcome: Outcome = { events: [event] };
    if (!url) outcome.rewrite = (newText) => rewriteChannel4(raw, message.tlv.start, message.tlv.valueStart, message.tlv.valueEnd, newText);
    return outcome;
  }

  private typingNotice(raw: Uint8Array, snac: Snac): Outcome {
    if (!this.typing) return {};
    const notice = readTyping(raw, snac);
    if ('error' in notice) return { error: { code: 'truncated-snac', message: notice.error } };
    const subtype = notice.state === 2 ? 'active' : notice.state === 1 ? 'paused' : 'done';
    return { events: [this.event('typing', screenNameId(notice.name) || UNKNOWN_ID, { subtype })] };
  }

  // ---- chat rooms

  /** The room joined (0x0E/0x02, once), messages to it (0x0E/0x05) and from others in it (0x0E/0x06). */
  private chat(direction: Direction, raw: Uint8Array, snac: Snac): Outcome {
    if (direction === 'incoming' && snac.subtype === 0x0002) {
      const info = readRoomInfo(raw, snac);
      if (info === undefined || this.room !== undefined) return {};
      this.room = info.name;
      return { events: [this.event('join', info.name, { subtype: 'chat', conversation: info.name })] };
    }
    const expected = direction === 'outgoing' ? 0x0005 : 0x0006;
    if (snac.subtype !== expected) return {};
    const message = readChatMessage(raw, snac, direction === 'incoming');
    if (message === undefined) return {};
    if ('error' in message) return { error: { code: 'tlv-overflow', message: message.error } };
    const from = message.sender === undefined ? undefined : screenNameId(message.sender);
    // The room reflects the user's own messages back (the reflection flag): already reported going out.
    if (from !== undefined && from === this.local) return {};
    const room = this.room ?? UNKNOWN_ID;
    const html = looksLikeHtml(message.text);
    const data: EventDataPairs = {};
    if (from !== undefined) data.from = from;
    if (html) data.html = message.text;
    return { events: [this.event('message', room, { subtype: 'chat', conversation: room, text: html ? htmlToText(message.text) : message.text }, data)] };
  }

  // ---- buddy list

  private feedbag(direction: Direction, raw: Uint8Array, snac: Snac): Outcome {
    if (direction === 'incoming') {
      if (snac.subtype === 0x0006) {
        const roster = readRoster(raw, snac.dataStart, snac.end);
        for (const item of roster.items) if (item.itemClass === ItemClass.GROUP && item.name !== '') this.groups.set(item.groupId, item.name);
        return roster.error === undefined ? {} : { error: { code: 'tlv-overflow', message: `feedbag roster: ${roster.error}` } };
      }
      if (snac.subtype === 0x001c) {
        // Someone added the local user to their list.
        const c = new Cursor(raw, snac.dataStart, snac.end);
        const name = c.take(c.u8());
        if (c.overflow || name.length === 0) return {};
        return { events: [this.event('contact', screenNameId(name), { subtype: 'added-by' })] };
      }
      return {};
    }
    if (snac.subtype !== 0x0008 && snac.subtype !== 0x000a) return {};
    const adding = snac.subtype === 0x0008;
    const { items, error } = readItems(raw, snac.dataStart, snac.end);
    const events: EventDraft[] = [];
    for (const item of items) {
      if (item.itemClass === ItemClass.GROUP) {
        if (adding && item.name !== '') this.groups.set(item.groupId, item.name);
        continue;
      }
      const subtype =
        item.itemClass === ItemClass.BUDDY
          ? adding
            ? 'add'
            : 'remove'
          : item.itemClass === ItemClass.DENY
            ? adding
              ? 'block'
              : 'unblock'
            : item.itemClass === ItemClass.PERMIT
              ? adding
                ? 'allow'
                : 'unallow'
              : undefined;
      if (subtype === undefined || item.name === '') continue;
      const group = this.groups.get(item.groupId);
      events.push(this.event('contact', normaliseScreenName(item.name), { subtype }, group === undefined ? undefined : { group }));
    }
    return { ...(events.length > 0 ? { events } : {}), ...(error !== undefined ? { error: { code: 'tlv-overflow', message: `feedbag edit: ${error}` } } : {}) };
  }

  // ---- ICQ

  private icqMeta(direction: Direction, raw: Uint8Array, snac: Snac): Outcome {
    if (snac.subtype !== (direction === 'outgoing' ? 0x0002 : 0x0003)) return {};
    const meta = readMeta(raw, snac.dataStart, snac.end);
    if (meta === undefined) return {};
    if ('error' in meta) return { error: { code: 'truncated-snac', message: meta.error } };
    if (meta.owner !== 0) this.learnLocal(String(meta.owner));
    if (direction === 'outgoing' || meta.type !== MetaType.OFFLINE_MESSAGE) return {};
    const message = readOfflineMessage(raw, meta);
    if ('error' in message) return { error: { code: 'truncated-snac', message: message.error } };
    if (message.type !== 0x01 && message.type !== 0x04) return {};
    const text = message.type === 0x04 ? message.text.split('\xfe').join(' ') : message.text;
    return { events: [this.event('message', String(message.from), { subtype: 'offline', text }, { offline: true, sent: message.sent })] };
  }
}
