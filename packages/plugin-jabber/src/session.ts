/**
 * `XmppSession`: the ProtocolSession for one XMPP client connection. Each direction is cut into frames by a
 * `StanzaFramer`; complete stanzas are parsed and turned into events. No I/O, no timers, no logging, nothing
 * thrown on any input.
 */
import { encodeUtf8, type Direction, type Frame, type ImEvent, type ProtocolSession, type SessionContext } from '@imspect/sdk';
import { StanzaFramer } from './framer.js';
import { resourceOf } from './jid.js';
import { XmppState } from './xmpp-state.js';
import { defaultScope, escapeXml, parseElement, parseStartTag, scopeFor, type NsScope, type XElement } from './xml.js';

/** Servers commonly accept stanzas up to 256 KiB (an avatar in a vCard is the usual large one). */
export const DEFAULT_MAX_STANZA_BYTES = 256 * 1024;
/** No limit below this: a stream header or a login exchange must always fit. */
export const MIN_MAX_STANZA_BYTES = 4096;

export class XmppSession implements ProtocolSession {
  readonly maxStanzaBytes: number;
  private readonly state: XmppState;
  private readonly midstream: boolean;
  private framers: Record<Direction, StanzaFramer>;
  private readonly scopes: Record<Direction, NsScope>;
  private responses = 0;
  /**
   * `pending`: STARTTLS was accepted and core has not (yet) said it decrypts: what arrives are TLS records,
   * passed through unparsed. `intercepted`: core pushes the plain stream inside TLS.
   */
  private tls: 'none' | 'pending' | 'intercepted' = 'none';
  /** Bytes the other direction's framer held when the connection switched to TLS, returned on its next push. */
  private carry: Record<Direction, Frame[]> = { outgoing: [], incoming: [] };

  constructor(ctx: SessionContext) {
    const max = Number.isFinite(ctx.maxFrameSize) ? Math.floor(ctx.maxFrameSize) : DEFAULT_MAX_STANZA_BYTES;
    this.maxStanzaBytes = Math.max(MIN_MAX_STANZA_BYTES, max);
    this.midstream = ctx.midstream === true;
    this.state = new XmppState({ serverHost: ctx.server.host });
    this.state.joinedLate = ctx.midstream === true;
    this.framers = {
      outgoing: new StanzaFramer(this.maxStanzaBytes, this.midstream),
      incoming: new StanzaFramer(this.maxStanzaBytes, this.midstream),
    };
    this.scopes = { outgoing: defaultScope(), incoming: defaultScope() };
  }

  /** The local user's bare JID, once known (bound, from SASL, or from what the server delivers). */
  get localId(): string | undefined {
    return this.state.localId;
  }

  /** The local client's full JID after resource binding. */
  get boundJid(): string | undefined {
    return this.state.boundJid;
  }

  /** Which of the user's clients this is: the resource of its full JID (binding, else what stanzas are addressed to). */
  get clientId(): string | undefined {
    const jid = this.state.boundJid ?? this.state.observedJid;
    return jid === undefined ? undefined : resourceOf(jid);
  }

  /**
   * The domain the client asked for in its latest stream header (`<stream:stream to=...>`): the name to
   * present a certificate for when the client sends no SNI.
   */
  get streamTo(): string | undefined {
    return this.state.streamTo;
  }

  /** Bytes held for an incomplete frame in `direction` (never more than the stanza limit). */
  bufferedBytes(direction: Direction): number {
    return this.framers[direction].buffered;
  }

  /** True between an accepted STARTTLS and core's word that it decrypts: bytes pass through unparsed. */
  get passthrough(): boolean {
    return this.tls === 'pending';
  }

  push(direction: Direction, chunk: Uint8Array): Frame[] {
    const carried = this.takeCarry(direction);
    if (this.tls === 'pending') {
      if (chunk.byteLength > 0) carried.push({ raw: chunk });
      return carried;
    }
    const framer = this.framers[direction];
    framer.push(chunk);
    const frames = this.frames(direction, framer);
    return carried.length === 0 ? frames : [...carried, ...frames];
  }

  end(direction: Direction): Frame[] {
    const rest = this.framers[direction].end();
    const carried = this.takeCarry(direction);
    return rest === undefined ? carried : [...carried, { raw: rest }];
  }

  /**
   * Bytes were lost: the stanza held incomplete is passed through, and the direction starts again as a stream
   * joined mid-way (the next top-level stanza is found by its name; the stream header was seen or is assumed).
   */
  gap(direction: Direction, _bytesMissing: number): Frame[] {
    const frames = this.end(direction);
    this.state.joinedLate = true;
    if (this.tls !== 'pending') this.framers[direction] = new StanzaFramer(this.maxStanzaBytes, true);
    return frames;
  }

  /**
   * Core decrypts the TLS that `<proceed/>` announced: what comes next in each direction is a new XML stream
   * (the client restarts it with a new header).
   */
  tlsIntercepted(): void {
    if (this.tls === 'pending') this.tls = 'intercepted';
  }

  private takeCarry(direction: Direction): Frame[] {
    const carried = this.carry[direction];
    if (carried.length === 0) return [];
    this.carry[direction] = [];
    return carried;
  }

  /**
   * `<proceed/>`: the bytes after it are TLS. What either framer still holds is handed back unparsed, and the
   * framers start afresh for the stream that TLS will carry.
   */
  private switchToTls(direction: Direction, framer: StanzaFramer, frames: Frame[]): void {
    for (let item = framer.next(); item !== undefined; item = framer.next()) frames.push({ raw: item.raw });
    const held = framer.end();
    if (held !== undefined) frames.push({ raw: held });
    const other: Direction = direction === 'outgoing' ? 'incoming' : 'outgoing';
    const otherHeld = this.framers[other].end();
    if (otherHeld !== undefined) this.carry[other].push({ raw: otherHeld });
    this.framers = {
      outgoing: new StanzaFramer(this.maxStanzaBytes),
      incoming: new StanzaFramer(this.maxStanzaBytes),
    };
    this.tls = 'pending';
  }

  /** A chat message to the local client from its server's domain. */
  /**
   * A message the client shows in the conversation it concerns: about a message or file the user sent, from
   * the room (type groupchat) or from the peer (type chat); otherwise from the server's domain.
   */
  respond(text: string, about?: ImEvent): Uint8Array | undefined {
    const to = this.state.fullJid;
    if (to === undefined || !(this.framers.incoming.inStream || this.midstream)) return undefined;
    const id = `imspect-${++this.responses}`;
    let from = this.state.domain;
    let type = 'chat';
    if (about !== undefined && about.direction === 'outgoing' && (about.type === 'message' || about.type === 'file') && about.remoteId.includes('@')) {
      from = about.remoteId;
      if (about.conversation !== undefined && about.conversation === about.remoteId) type = 'groupchat';
    }
    const xml = `<message from='${escapeXml(from)}' to='${escapeXml(to)}' type='${type}' id='${id}'><body>${escapeXml(text)}</body></message>`;
    return encodeUtf8(xml);
  }

  private frames(direction: Direction, framer: StanzaFramer): Frame[] {
    const frames: Frame[] = [];
    for (let item = framer.next(); item !== undefined; item = framer.next()) {
      const frame: Frame = { raw: item.raw };
      if (item.error) frame.error = item.error;
      if (item.kind === 'header') {
        // The client's stream header: the login that follows it, if any, is seen (a stream joined mid-way
        // no longer stands in for one).
        if (direction === 'outgoing') this.state.joinedLate = false;
        this.header(direction, frame);
      } else if (item.kind === 'stanza') {
        this.stanza(direction, frame);
      } else if (item.kind === 'close') {
        const outcome = this.state.streamClosed(direction);
        if (outcome.events) frame.events = outcome.events;
      }
      frames.push(frame);
      if (frame.upgrade) {
        this.switchToTls(direction, framer, frames);
        break;
      }
    }
    return frames;
  }

  private header(direction: Direction, frame: Frame): void {
    const errors: Array<{ code: string; message: string }> = [];
    const tag = parseStartTag(frame.raw, 0, errors);
    if (!tag) {
      frame.error ??= { code: 'not-well-formed', message: 'malformed stream header' };
      return;
    }
    if (errors[0]) frame.error ??= errors[0];
    // A restart begins a new XML document: namespaces come from the new header alone.
    this.scopes[direction] = scopeFor(defaultScope(), tag.attrs);
    this.state.header(direction, tag.attrs);
  }

  private stanza(direction: Direction, frame: Frame): void {
    const parsed = parseElement(frame.raw, this.scopes[direction]);
    if (parsed.error) frame.error ??= parsed.error;
    if (!parsed.root) return;
    const outcome = this.state.stanza(direction, parsed.root, frame.raw);
    if (outcome.events && outcome.events.length > 0) frame.events = outcome.events;
    if (outcome.rewrite && outcome.events?.length === 1) frame.rewrite = outcome.rewrite;
    if (outcome.upgrade) frame.upgrade = outcome.upgrade;
    if (frame.events) {
      const root = parsed.root;
      frame.refusal = () => this.refusal(direction, root);
    }
  }

  /**
   * The stanza error that ends a blocked request for its sender (RFC 6120 8.3): an `<iq type='error'>` for a
   * request (a file offer, a roster change), a `<presence type='error'>` for a room join. Messages get none: the
   * blocked reply already tells the user, and an error message would look like a delivery failure.
   */
  private refusal(direction: Direction, root: XElement): Uint8Array | undefined {
    const type = root.attrs.get('type');
    const sender = root.attrs.get('from') ?? (direction === 'outgoing' ? this.state.fullJid : undefined);
    const addressee = root.attrs.get('to') ?? (direction === 'outgoing' ? this.state.domain : undefined);
    if (sender === undefined || addressee === undefined) return undefined;
    const error = `<error type='cancel'><not-allowed xmlns='${STANZA_ERRORS}'/><text xmlns='${STANZA_ERRORS}'>blocked by policy</text></error>`;
    const reply = `from='${escapeXml(addressee)}' to='${escapeXml(sender)}'`;
    if (root.local === 'iq' && (type === 'set' || type === 'get')) {
      const id = root.attrs.get('id');
      if (id === undefined) return undefined;
      return encodeUtf8(`<iq type='error' id='${escapeXml(id)}' ${reply}>${error}</iq>`);
    }
    if (root.local === 'presence' && type === undefined && direction === 'outgoing' && root.attrs.has('to')) {
      const id = root.attrs.get('id');
      return encodeUtf8(`<presence type='error'${id === undefined ? '' : ` id='${escapeXml(id)}'`} ${reply}>${error}</presence>`);
    }
    return undefined;
  }
}

const STANZA_ERRORS = 'urn:ietf:params:xml:ns:xmpp-stanzas';
