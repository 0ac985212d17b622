/**
 * What one XMPP client connection has told so far (who the local user is, which rooms it is in, which upload
 * slots it asked for), and the events each stanza carries.
 */
import { compactData, encodeUtf8, presenceData, type Direction, type EventDraft, type FileOffer, type PresenceChange, type PresenceStatus } from '@imspect/sdk';
import { bareJid, domainOf, normaliseJid, resourceOf } from './jid.js';
import { NS } from './namespaces.js';
import { child, childInNs, children, escapeXml, textOf, type XElement } from './xml.js';

export interface StanzaOutcome {
  events?: EventDraft[];
  rewrite?(text: string): Uint8Array;
  upgrade?: 'tls';
}

const NONE: StanzaOutcome = {};
/** XEP-0245: a body starting with this is an action ("/me waves"). */
const ME_PREFIX = '/me ';
const CHAT_STATES = new Set(['active', 'composing', 'paused', 'inactive', 'gone']);
/**
 * Subscriptions as contact events in the policy's words (the stanza's own type stays in `subscription=`): the
 * user asking to add someone or approving their request is an `add` (what a policy blocking contacts stops);
 * someone else asking is `added-by`, as on MSN; their approval `accepted`; ending one either way `remove` /
 * `removed-by`.
 */
const SUBSCRIPTION_SUBTYPES: Record<Direction, Record<string, string>> = {
  outgoing: { subscribe: 'add', subscribed: 'add', unsubscribe: 'remove', unsubscribed: 'remove' },
  incoming: { subscribe: 'added-by', subscribed: 'accepted', unsubscribe: 'removed-by', unsubscribed: 'removed-by' },
};
const LEAVE_SUBTYPES: Record<string, string> = { '307': 'kick', '301': 'ban', '321': 'affiliation', '322': 'members-only', '332': 'shutdown' };
/** Bounds on what a connection remembers, whatever the peer sends. */
const MAX_ROOMS = 1000;
const MAX_UPLOAD_REQUESTS = 64;
const MAX_UPLOADS = 256;

interface Room {
  nick: string | undefined;
  joined: boolean;
}

export interface XmppStateOptions {
  /** Server host of the connection: the domain until the stream names one. */
  serverHost: string;
}

export class XmppState {
  /** `to` of the client's latest stream header: the domain it wants. */
  streamTo: string | undefined;
  /** `from` of the server's latest stream header. */
  serverDomain: string | undefined;
  /** The full JID resource binding gave. */
  boundJid: string | undefined;
  /** User name from SASL (PLAIN, SCRAM, DIGEST-MD5), before binding. */
  saslUser: string | undefined;
  /** The full JID incoming stanzas are addressed to (a stream joined mid-way has no binding). */
  observedJid: string | undefined;
  private readonly rooms = new Map<string, Room>();
  private readonly uploadRequests = new Map<string, FileOffer>();
  private readonly uploads = new Map<string, FileOffer>();
  private readonly serverHost: string;
  /** The entity-capabilities node was reported (once per connection: clients repeat it in every presence). */
  private capsReported = false;

  /** Ids of the client's broadcast presences sent while the user is unknown (few: one per status change). */
  private readonly broadcastIds = new BoundedSet(8);
  /** The stream was joined mid-way (or lost bytes): its binding may not have been seen. */
  joinedLate = false;

  constructor(options: XmppStateOptions) {
    this.serverHost = options.serverHost;
  }

  /** The local user's bare JID, once known. */
  get localId(): string | undefined {
    if (this.boundJid !== undefined) return bareJid(this.boundJid);
    if (this.saslUser !== undefined) return this.saslUser.includes('@') ? bareJid(this.saslUser) : `${this.saslUser.toLowerCase()}@${this.domain}`;
    return this.observedJid === undefined ? undefined : bareJid(this.observedJid);
  }

  /** The local client's full JID (bare when no resource is known). */
  get fullJid(): string | undefined {
    return this.boundJid ?? this.observedJid ?? this.localId;
  }

  get domain(): string {
    const jid = this.boundJid ?? this.observedJid;
    return (this.streamTo ?? this.serverDomain ?? (jid === undefined ? undefined : domainOf(jid)) ?? this.serverHost).toLowerCase();
  }

  private get me(): string {
    return this.localId ?? '*';
  }

  header(direction: Direction, attrs: ReadonlyArray<[string, string]>): void {
    const get = (name: string) => attrs.find(([n]) => n === name)?.[1];
    if (direction === 'outgoing') {
      const to = get('to');
      if (to !== undefined && to.length > 0) this.streamTo = to.toLowerCase();
    } else {
      const from = get('from');
      if (from !== undefined && from.length > 0) this.serverDomain = from.toLowerCase();
    }
  }

  /** The client closed its stream. */
  streamClosed(direction: Direction): StanzaOutcome {
    // Joined mid-way (no binding seen): the client's end of its stream is still the user's logout.
    if (direction !== 'outgoing' || (this.boundJid === undefined && this.observedJid === undefined && !this.joinedLate)) return NONE;
    return { events: [{ type: 'logout', localId: this.me, remoteId: this.domain }] };
  }

  stanza(direction: Direction, el: XElement, raw: Uint8Array): StanzaOutcome {
    if (direction === 'incoming') this.observe(el);
    if (el.ns === NS.tls) return direction === 'incoming' && el.local === 'proceed' ? { upgrade: 'tls' } : NONE;
    if (el.ns === NS.sasl) {
      if (direction === 'outgoing') this.sasl(el);
      // The server refused the login: a stream joined mid-way now knows nobody logged in.
      else if (el.local === 'failure') this.joinedLate = false;
      return NONE;
    }
    if (el.ns !== NS.client && el.ns !== NS.server) return NONE;
    if (el.local === 'message') return this.message(direction, el, raw);
    if (el.local === 'presence') return this.presence(direction, el);
    if (el.local === 'iq') return this.iq(direction, el);
    return NONE;
  }

  /** A mid-stream connection learns the local JID from the address of what the server delivers. */
  private observe(el: XElement): void {
    if (this.boundJid !== undefined) return;
    const to = el.attrs.get('to');
    if (to !== undefined && to.includes('@') && (this.observedJid === undefined || resourceOf(to) !== undefined)) this.observedJid = normaliseJid(to);
  }

  private sasl(el: XElement): void {
    const decoded = decodeBase64(textOf(el).trim());
    if (decoded === undefined) return;
    if (el.local === 'auth') {
      const mechanism = (el.attrs.get('mechanism') ?? '').toUpperCase();
      if (mechanism === 'PLAIN') {
        const [authzid = '', authcid = ''] = decoded.split('\0');
        const user = authzid.includes('@') ? authzid : authcid;
        if (user.length > 0) this.saslUser = user;
      } else if (mechanism.startsWith('SCRAM-')) {
        const match = /(?:^|,)n=([^,]*)/.exec(decoded.replace(/^[nyp][^,]*,[^,]*,/, ''));
        if (match?.[1]) this.saslUser = match[1].replace(/=2C/g, ',').replace(/=3D/g, '=');
      }
    } else if (el.local === 'response') {
      const match = /(?:^|,)\s*username="([^"]*)"/.exec(decoded);
      if (match?.[1]) this.saslUser = match[1];
    }
  }

  private message(direction: Direction, el: XElement, raw: Uint8Array): StanzaOutcome {
    if (el.attrs.get('type') === 'error') return NONE;
    if (direction === 'incoming') {
      const carbon = child(el, 'sent', NS.carbons) ?? child(el, 'received', NS.carbons);
      if (carbon) {
        // Only the user's own account may send carbons; anything else is a forgery and is not believed.
        if (!this.fromOwnAccount(el)) return NONE;
        const forwarded = child(carbon, 'forwarded', NS.forward);
        const inner = forwarded && (child(forwarded, 'message', NS.client) ?? child(forwarded, 'message', NS.server));
        if (!inner) return NONE;
        return this.messageEvents(inner, carbon.local === 'sent' ? 'outgoing' : 'incoming', raw, true);
      }
      // Archive query results (XEP-0313) replay history that was logged when it happened.
      for (const c of el.children) if (typeof c !== 'string' && c.local === 'result' && c.ns.startsWith(NS.mamPrefix)) return NONE;
    }
    return this.messageEvents(el, direction, raw, false);
  }

  private fromOwnAccount(el: XElement): boolean {
    const from = el.attrs.get('from');
    if (from === undefined) return true;
    const own = this.localId ?? (el.attrs.get('to') === undefined ? undefined : bareJid(el.attrs.get('to')!));
    return own !== undefined && bareJid(from) === own;
  }

  private messageEvents(msg: XElement, direction: Direction, raw: Uint8Array, override: boolean): StanzaOutcome {
    const type = msg.attrs.get('type') ?? 'normal';
    if (type === 'error') return NONE;
    const peer = (direction === 'outgoing' ? msg.attrs.get('to') : msg.attrs.get('from')) ?? this.domain;
    const bare = bareJid(peer);
    const nick = resourceOf(peer);
    const base: EventDraft = { type: 'message', localId: this.me, remoteId: bare };
    if (type === 'groupchat') {
      // The room reflects the user's own messages back: those were logged when they went out.
      if (direction === 'incoming' && !override && nick !== undefined && this.rooms.get(bare)?.nick === nick) return NONE;
      base.conversation = bare;
      if (direction === 'incoming' && nick !== undefined) base.data = { from: nick };
    } else if (nick !== undefined && this.rooms.has(bare)) {
      base.remoteId = `${bare}/${nick}`; // a private message to a room occupant
    }
    if (override) base.direction = direction;
    const copy = this.copyIdentity(msg, direction, peer);
    if (copy.messageKey !== undefined) {
      base.messageKey = copy.messageKey;
      if (copy.device !== undefined) base.data = { ...base.data, device: copy.device };
    }

    const encryption = encryptionOf(msg);
    const bodies = children(msg, 'body', msg.ns);
    const body = bodies.find((b) => !b.attrs.has('xml:lang')) ?? bodies[0];
    const text = body === undefined ? '' : textOf(body);
    if (encryption !== undefined || text.startsWith('?OTR')) {
      return { events: [{ ...base, type: 'encrypted', subtype: encryption ?? 'otr' }] };
    }
    if (text.length > 0) {
      const oob = child(msg, 'x', NS.oobX);
      const oobUrl = oob && child(oob, 'url', NS.oobX) ? textOf(child(oob, 'url', NS.oobX)!).trim() : '';
      const url = oobUrl.length > 0 ? oobUrl : sharedFileLink(text, this.uploads);
      if (url !== undefined) {
        const uploaded = this.uploads.get(url);
        const file = uploaded ?? { name: fileNameOf(url) };
        const subtype = uploaded ? 'http-upload' : oobUrl.length > 0 ? 'oob' : 'link';
        return { events: [{ ...base, type: 'file', subtype, text, file: { ...file }, data: { ...base.data, url } }] };
      }
      const html = children(msg, 'html', NS.xhtmlIm);
      // XEP-0245: "/me " makes the message an action, as CTCP ACTION does on IRC; the text is the action alone,
      // and a rewrite keeps the prefix so the recipient still sees an action.
      if (text.startsWith(ME_PREFIX) && text.length > ME_PREFIX.length) {
        const action: EventDraft = { ...base, subtype: 'action', text: text.slice(ME_PREFIX.length) };
        return { events: [action], rewrite: (newText) => rewriteBodies(raw, bodies, html, ME_PREFIX + newText) };
      }
      const event: EventDraft = { ...base, text };
      if (type === 'groupchat' || type === 'headline') event.subtype = type;
      return { events: [event], rewrite: (newText) => rewriteBodies(raw, bodies, html, newText) };
    }
    const state = childInNs(msg, NS.chatStates);
    if (state && CHAT_STATES.has(state.local)) return { events: [{ ...base, type: 'typing', subtype: state.local }] };
    return NONE;
  }

  /**
   * What makes the copies of one message recognisable as one (XEP-0280 carbons, a message to the bare JID
   * delivered to every resource): the sender's id for it (XEP-0359 `origin-id`, else the stanza `id`), who sent
   * it and to whom, and its direction; and the device (this connection's resource) the copy reached, reported
   * with the key. A message without an id has no key (two copies of it cannot be told from the same text sent
   * twice), and no device.
   */
  private copyIdentity(msg: XElement, direction: Direction, peer: string): { messageKey?: string; device?: string } {
    const result: { messageKey?: string; device?: string } = {};
    const device = this.fullJid === undefined ? undefined : resourceOf(this.fullJid);
    if (device !== undefined) result.device = device;
    const originId = child(msg, 'origin-id', NS.stanzaIds)?.attrs.get('id');
    const id = originId !== undefined && originId.length > 0 ? originId : msg.attrs.get('id');
    if (id === undefined || id.length === 0 || this.localId === undefined) return result;
    // The sender's resource is part of an incoming key (two of the peer's devices may reuse an id), but not of an
    // outgoing one: the original leaves without a `from`, its carbon carries the sending device's full JID.
    const from = direction === 'outgoing' ? this.localId : normaliseJid(peer);
    const to = direction === 'outgoing' ? bareJid(peer) : this.localId;
    result.messageKey = `xmpp ${direction} ${from} ${to} ${originId !== undefined && originId.length > 0 ? 'origin-id' : 'id'}=${id}`;
    return result;
  }

  private presence(direction: Direction, el: XElement): StanzaOutcome {
    const type = el.attrs.get('type');
    const peer = direction === 'outgoing' ? el.attrs.get('to') : el.attrs.get('from');
    const id = el.attrs.get('id');
    if (peer === undefined && direction === 'outgoing' && id !== undefined && this.localId === undefined) this.broadcastIds.add(id);
    if (direction === 'incoming' && peer !== undefined && id !== undefined && this.broadcastIds.has(id) && this.localId === undefined) {
      // The server's copy of the client's own broadcast presence (same id): its sender is the user. A stream
      // joined after the binding learns who the user is here.
      this.observedJid = normaliseJid(peer);
      this.broadcastIds.clear();
    }
    if (peer === undefined) return direction === 'outgoing' ? this.ownPresence(type, el) : NONE;
    const subscription = type === undefined ? undefined : SUBSCRIPTION_SUBTYPES[direction][type];
    if (subscription !== undefined) {
      return { events: [{ type: 'contact', subtype: subscription, localId: this.me, remoteId: bareJid(peer), data: { subscription: type! } }] };
    }
    const room = bareJid(peer);
    const nick = resourceOf(peer);
    if (direction === 'outgoing') {
      // A join request: remember the nick, so the room's answer can be recognised as about us, and report the
      // request so a policy can stop it before the room sees it (the room's answer is the `join` itself).
      if (type === undefined && nick !== undefined && child(el, 'x', NS.muc) && !this.rooms.get(room)?.joined && this.rooms.size < MAX_ROOMS) {
        this.rooms.set(room, { nick, joined: false });
        return { events: [{ type: 'join', subtype: 'request', localId: this.me, remoteId: room, conversation: room, data: { nick, request: true } }] };
      }
      return NONE;
    }
    const x = child(el, 'x', NS.mucUser);
    if (!x) return this.contactPresence(type, peer, el);
    const codes = children(x, 'status', NS.mucUser).map((s) => s.attrs.get('code'));
    const entry = this.rooms.get(room);
    const self = codes.includes('110') || (entry?.nick !== undefined && entry.nick === nick);
    if (!self) return NONE;
    if (type === 'error') {
      if (entry && !entry.joined) this.rooms.delete(room);
      return NONE;
    }
    if (type === 'unavailable') {
      if (codes.includes('303')) {
        const renamed = child(x, 'item', NS.mucUser)?.attrs.get('nick');
        if (entry && renamed) entry.nick = renamed;
        return NONE;
      }
      if (!entry?.joined) {
        this.rooms.delete(room);
        return NONE;
      }
      this.rooms.delete(room);
      const event: EventDraft = { type: 'leave', localId: this.me, remoteId: room, conversation: room };
      const subtype = codes.map((c) => (c === undefined ? undefined : LEAVE_SUBTYPES[c])).find((s) => s !== undefined);
      if (subtype) event.subtype = subtype;
      return { events: [event] };
    }
    if (type !== undefined) return NONE;
    if (entry?.joined) {
      if (nick !== undefined) entry.nick = nick;
      return NONE;
    }
    if (!entry && this.rooms.size >= MAX_ROOMS) return NONE;
    this.rooms.set(room, { nick, joined: true });
    const event: EventDraft = { type: 'join', localId: this.me, remoteId: room, conversation: room };
    if (nick !== undefined) event.data = { nick };
    return { events: [event] };
  }

  /** A broadcast presence (no `to`): the user's own status, after the client report its first one carries. */
  private ownPresence(type: string | undefined, el: XElement): StanzaOutcome {
    const change = presenceChangeOf(type, el);
    if (change === undefined) return NONE;
    const status: EventDraft = { type: 'other', subtype: 'status', localId: this.me, remoteId: this.domain, data: presenceData(change) };
    const caps = type === undefined ? this.capsClient(el) : NONE;
    return { events: [...(caps.events ?? []), status] };
  }

  /**
   * A contact's presence (not a room occupant's: those carry MUC user data). The user's own other devices are
   * not contacts: their presence is not reported.
   */
  private contactPresence(type: string | undefined, peer: string, el: XElement): StanzaOutcome {
    const change = presenceChangeOf(type, el);
    const contact = bareJid(peer);
    if (change === undefined || contact === this.localId || contact.length === 0) return NONE;
    return { events: [{ type: 'contact', subtype: 'status', localId: this.me, remoteId: contact, data: presenceData(change) }] };
  }

  /**
   * The client's entity-capabilities node (XEP-0115) in its first broadcast presence: a URI naming the client
   * program (`https://gajim.org`); the `ver` beside it is a hash, not a version.
   */
  private capsClient(el: XElement): StanzaOutcome {
    if (this.capsReported) return NONE;
    const node = child(el, 'c', NS.caps)?.attrs.get('node')?.trim();
    if (node === undefined || node.length === 0) return NONE;
    this.capsReported = true;
    return { events: [{ type: 'other', subtype: 'client', localId: this.me, remoteId: this.domain, data: { client: node, source: 'caps' } }] };
  }

  /** The client's answer to a software version query (XEP-0092): its program, version and system. */
  private softwareVersion(el: XElement): StanzaOutcome {
    const query = child(el, 'query', NS.version);
    if (!query) return NONE;
    const name = textOfChild(query, 'name', NS.version)?.trim();
    const version = textOfChild(query, 'version', NS.version)?.trim();
    const os = textOfChild(query, 'os', NS.version)?.trim();
    const items = compactData({ client: name || undefined, version: version || undefined, os: os || undefined });
    if (!name && !version) return NONE;
    const peer = el.attrs.get('to');
    return {
      events: [{ type: 'other', subtype: 'client', localId: this.me, remoteId: peer === undefined ? this.domain : bareJid(peer), data: { ...items, source: 'version' } }],
    };
  }

  /** Roster changes the client asks for (RFC 6121 2.3, 2.5) and the roster it is given. */
  private roster(direction: Direction, type: string | undefined, query: XElement): StanzaOutcome {
    const items = children(query, 'item', NS.roster);
    if (direction === 'incoming') {
      // The answer to the client's roster get; pushes (sets) only confirm the client's own changes.
      if (type !== 'result') return NONE;
      return { events: [{ type: 'contact', subtype: 'list', localId: this.me, remoteId: this.domain, data: { contacts: items.length } }] };
    }
    if (type !== 'set') return NONE;
    const events: EventDraft[] = [];
    for (const item of items) {
      const jid = item.attrs.get('jid');
      if (jid === undefined || jid.length === 0) continue;
      const removal = item.attrs.get('subscription') === 'remove';
      const event: EventDraft = { type: 'contact', subtype: removal ? 'remove' : 'add', localId: this.me, remoteId: bareJid(jid), data: { roster: true } };
      const name = item.attrs.get('name');
      if (!removal && name !== undefined && name.length > 0) event.data = { ...event.data, name };
      events.push(event);
    }
    return events.length > 0 ? { events } : NONE;
  }

  private iq(direction: Direction, el: XElement): StanzaOutcome {
    const type = el.attrs.get('type');
    const id = el.attrs.get('id');
    const rosterQuery = child(el, 'query', NS.roster);
    if (rosterQuery) return this.roster(direction, type, rosterQuery);
    if (direction === 'outgoing' && type === 'result') return this.softwareVersion(el);
    if (direction === 'incoming' && type === 'result') {
      const jid = child(el, 'bind', NS.bind);
      const value = jid && child(jid, 'jid', NS.bind) ? textOf(child(jid, 'jid', NS.bind)!).trim() : '';
      if (value.includes('@')) {
        this.boundJid = normaliseJid(value);
        this.observedJid = undefined;
        return { events: [{ type: 'login', localId: bareJid(value), remoteId: this.domain, data: { jid: this.boundJid } }] };
      }
      if (id !== undefined && this.uploadRequests.has(id)) this.uploadSlot(el, id);
      return NONE;
    }
    if (direction === 'outgoing' && type === 'get') {
      // Asking the upload service (XEP-0363) for a slot is the start of a file transfer: reported as one, so a
      // policy that blocks files refuses the slot and the file is never uploaded.
      const file = this.uploadRequest(el, id);
      if (file === undefined) return NONE;
      const service = el.attrs.get('to');
      return { events: [{ type: 'file', subtype: 'http-upload-request', localId: this.me, remoteId: service === undefined ? this.domain : bareJid(service), file: { ...file } }] };
    }
    if (type !== 'set') return NONE;
    const peer = direction === 'outgoing' ? el.attrs.get('to') : el.attrs.get('from');
    const remoteId = peer === undefined ? this.domain : bareJid(peer);
    const base = { type: 'file' as const, localId: this.me, remoteId };
    const events: EventDraft[] = [];
    const si = child(el, 'si', NS.si);
    if (si && si.attrs.get('profile') === NS.siFileTransfer) {
      const file = child(si, 'file', NS.siFileTransfer);
      const name = file?.attrs.get('name');
      if (file && name !== undefined)
        events.push({ ...base, subtype: 'si', file: offer(name, file.attrs.get('size')), ...description(textOfChild(file, 'desc', NS.siFileTransfer)) });
    }
    const jingle = child(el, 'jingle', NS.jingle);
    if (jingle && jingle.attrs.get('action') === 'session-initiate') {
      for (const content of children(jingle, 'content', NS.jingle)) {
        const desc = content.children.find((c): c is XElement => typeof c !== 'string' && c.local === 'description' && c.ns.startsWith(NS.jingleFileTransferPrefix));
        if (!desc) continue;
        const holder = child(desc, 'offer', desc.ns) ?? child(desc, 'request', desc.ns) ?? desc;
        const file = child(holder, 'file', desc.ns);
        if (!file) continue;
        const name = textOfChild(file, 'name', desc.ns) ?? '';
        const event: EventDraft = { ...base, subtype: 'jingle', file: offer(name, textOfChild(file, 'size', desc.ns)), ...description(textOfChild(file, 'desc', desc.ns)) };
        if (content.attrs.get('senders') === 'responder' || holder.local === 'request') event.data = { request: true };
        events.push(event);
      }
    }
    const oob = child(el, 'query', NS.oobIq);
    if (oob) {
      const url = textOfChild(oob, 'url', NS.oobIq)?.trim() ?? '';
      if (url.length > 0) events.push({ ...base, subtype: 'oob', file: { name: fileNameOf(url) }, data: { url } });
    }
    return events.length > 0 ? { events } : NONE;
  }

  /** An upload slot request (XEP-0363, current and legacy namespace): the file it is for, remembered by iq id. */
  private uploadRequest(el: XElement, id: string | undefined): FileOffer | undefined {
    let file: FileOffer | undefined;
    const request = child(el, 'request', NS.httpUpload);
    if (request) {
      const name = request.attrs.get('filename');
      if (name !== undefined) file = offer(name, request.attrs.get('size'));
    } else {
      const legacy = child(el, 'request', NS.httpUploadLegacy);
      const name = legacy && textOfChild(legacy, 'filename', NS.httpUploadLegacy);
      if (legacy && name !== undefined) file = offer(name, textOfChild(legacy, 'size', NS.httpUploadLegacy));
    }
    if (file !== undefined && id !== undefined && this.uploadRequests.size < MAX_UPLOAD_REQUESTS) this.uploadRequests.set(id, file);
    return file;
  }

  private uploadSlot(el: XElement, id: string): void {
    const file = this.uploadRequests.get(id)!;
    this.uploadRequests.delete(id);
    const slot = child(el, 'slot', NS.httpUpload);
    let url = slot && child(slot, 'get', NS.httpUpload)?.attrs.get('url');
    if (url === undefined) {
      const legacy = child(el, 'slot', NS.httpUploadLegacy);
      url = legacy && textOfChild(legacy, 'get', NS.httpUploadLegacy)?.trim();
    }
    if (!url) return;
    if (this.uploads.size >= MAX_UPLOADS) this.uploads.delete(this.uploads.keys().next().value!);
    this.uploads.set(url, file);
  }
}

function encryptionOf(msg: XElement): string | undefined {
  for (const c of msg.children) {
    if (typeof c === 'string') continue;
    if (c.local === 'encrypted' && (c.ns === NS.omemoLegacy || c.ns === NS.omemo1 || c.ns === NS.omemo2)) return 'omemo';
    if (c.local === 'x' && c.ns === NS.pgpLegacy) return 'pgp';
    if (c.local === 'openpgp' && c.ns === NS.openpgp) return 'openpgp';
  }
  return undefined;
}

/** `<show/>` values (RFC 6121 4.7.2.1) in imspect's words; `xa` (extended away) is away too. */
const SHOW_STATUSES: Readonly<Record<string, PresenceStatus>> = { away: 'away', chat: 'free-for-chat', dnd: 'busy', xa: 'away' };

/**
 * The status an available or unavailable presence says (show, status text); undefined for the other types
 * (subscriptions, probes, errors). `protocol-status` is the `<show/>` value, else `available` / `unavailable`.
 */
export function presenceChangeOf(type: string | undefined, el: XElement): PresenceChange | undefined {
  if (type !== undefined && type !== 'unavailable') return undefined;
  const statusText = textOfChild(el, 'status', el.ns)?.trim();
  const description = statusText !== undefined && statusText.length > 0 ? { description: statusText } : {};
  if (type === 'unavailable') return { status: 'offline', 'protocol-status': 'unavailable', ...description };
  const show = textOfChild(el, 'show', el.ns)?.trim();
  if (show === undefined || show.length === 0) return { status: 'online', 'protocol-status': 'available', ...description };
  return { status: SHOW_STATUSES[show] ?? 'unknown', 'protocol-status': show, ...description };
}

function textOfChild(el: XElement, local: string, ns: string): string | undefined {
  const c = child(el, local, ns);
  return c === undefined ? undefined : textOf(c);
}

function offer(name: string, size: string | undefined): FileOffer {
  const file: FileOffer = { name };
  const trimmed = size?.trim();
  if (trimmed !== undefined && /^[0-9]{1,15}$/.test(trimmed)) file.size = Number(trimmed);
  return file;
}

function description(desc: string | undefined): { text?: string } {
  const trimmed = desc?.trim();
  return trimmed ? { text: trimmed } : {};
}

/**
 * A body that is nothing but a link to a file: the `get` URL of an upload slot this connection asked for, or an
 * https URL alone in the body whose last path segment has a file extension, which is how clients share an
 * XEP-0363 upload when they send no XEP-0066 element (and how a user pastes one). Anything else is a message.
 */
function sharedFileLink(text: string, uploads: ReadonlyMap<string, FileOffer>): string | undefined {
  const candidate = text.trim();
  if (candidate.length === 0 || /\s/.test(candidate)) return undefined;
  if (uploads.has(candidate)) return candidate;
  let url: URL;
  try {
    url = new URL(candidate);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'https:') return undefined;
  const segment = url.pathname
    .split('/')
    .filter((s) => s.length > 0)
    .at(-1);
  return segment !== undefined && /\.[A-Za-z0-9]{1,10}$/.test(segment) ? candidate : undefined;
}

/** The last path segment of a URL, decoded: the name an uploaded file will be saved under. */
export function fileNameOf(url: string): string {
  let path = url;
  try {
    path = new URL(url).pathname;
  } catch {
    path = url.split(/[?#]/)[0] ?? url;
  }
  const segment =
    path
      .split('/')
      .filter((s) => s.length > 0)
      .at(-1) ?? url;
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

function decodeBase64(text: string): string | undefined {
  if (text.length === 0 || text === '=' || !/^[A-Za-z0-9+/=\s]*$/.test(text)) return undefined;
  return Buffer.from(text, 'base64').toString('utf8');
}

/**
 * The stanza with the text of every body replaced by `text` (escaped) and any XHTML-IM copy of the text removed,
 * so the recipient sees only the new text; every other byte stays as it was.
 */
export function rewriteBodies(raw: Uint8Array, bodies: readonly XElement[], html: readonly XElement[], text: string): Uint8Array {
  const encoded = encodeUtf8(escapeXml(text));
  const edits: Array<{ start: number; end: number; bytes: Uint8Array }> = [];
  for (const body of bodies) {
    if (body.contentStart === body.end) {
      // <body/>: becomes <body>text</body>.
      const tag = raw.subarray(body.start, body.end);
      const open = tag.slice(0, tag.length - 2);
      const closeTag = encodeUtf8(`></${body.qname}>`);
      const bytes = new Uint8Array(open.length + 1 + encoded.length + closeTag.length - 1);
      bytes.set(open, 0);
      bytes[open.length] = 0x3e;
      bytes.set(encoded, open.length + 1);
      bytes.set(closeTag.subarray(1), open.length + 1 + encoded.length);
      edits.push({ start: body.start, end: body.end, bytes });
    } else edits.push({ start: body.contentStart, end: body.contentEnd, bytes: encoded });
  }
  for (const el of html) edits.push({ start: el.start, end: el.end, bytes: new Uint8Array(0) });
  edits.sort((a, b) => a.start - b.start);
  const parts: Uint8Array[] = [];
  let last = 0;
  for (const edit of edits) {
    if (edit.start < last) continue;
    parts.push(raw.subarray(last, edit.start), edit.bytes);
    last = edit.end;
  }
  parts.push(raw.subarray(last));
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** A set that forgets its oldest member past `max`. */
class BoundedSet {
  private readonly items = new Set<string>();
  constructor(private readonly max: number) {}
  add(item: string): void {
    this.items.delete(item);
    this.items.add(item);
    if (this.items.size > this.max) this.items.delete(this.items.values().next().value!);
  }
  has(item: string): boolean {
    return this.items.has(item);
  }
  clear(): void {
    this.items.clear();
  }
}
