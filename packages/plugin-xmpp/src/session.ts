/**
 * `XmppSession`: the ProtocolSession for one XMPP client connection. Each direction is cut into frames by a
 * `StanzaFramer`; complete stanzas are parsed and turned into events. No I/O, no timers, no logging, nothing
 * thrown on any input.
 */
import type { Direction, Frame, ImEvent, ProtocolSession, SessionContext } from '@imspect/core';
import { StanzaFramer, type FramerItem } from './framer.js';
import { XmppState } from './xmpp-state.js';
import { defaultScope, escapeXml, parseElement, parseStartTag, scopeFor, type NsScope } from './xml.js';

/** Servers commonly accept stanzas up to 256 KiB (an avatar in a vCard is the usual large one). */
export const DEFAULT_MAX_STANZA_BYTES = 256 * 1024;
/** No limit below this: a stream header or a login exchange must always fit. */
export const MIN_MAX_STANZA_BYTES = 4096;

const encoder = new TextEncoder();

export class XmppSession implements ProtocolSession {
  readonly maxStanzaBytes: number;
  private readonly state: XmppState;
  private readonly midstream: boolean;
  private readonly framers: Record<Direction, StanzaFramer>;
  private readonly scopes: Record<Direction, NsScope>;
  private responses = 0;

  constructor(ctx: SessionContext) {
    const max = Number.isFinite(ctx.maxFrameSize) ? Math.floor(ctx.maxFrameSize) : DEFAULT_MAX_STANZA_BYTES;
    this.maxStanzaBytes = Math.max(MIN_MAX_STANZA_BYTES, max);
    this.midstream = ctx.midstream === true;
    this.state = new XmppState({ serverHost: ctx.server.host });
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

  push(direction: Direction, chunk: Uint8Array): Frame[] {
    return this.frames(direction, this.framers[direction].push(chunk));
  }

  end(direction: Direction): Frame[] {
    return this.framers[direction].end().map((item) => ({ raw: item.raw }));
  }

  /** A chat message to the local client from its server's domain. */
  respond(text: string, _about?: ImEvent): Uint8Array | undefined {
    const to = this.state.fullJid;
    if (to === undefined || !(this.framers.incoming.inStream || this.midstream)) return undefined;
    const id = `imspect-${++this.responses}`;
    const xml = `<message from='${escapeXml(this.state.domain)}' to='${escapeXml(to)}' type='chat' id='${id}'><body>${escapeXml(text)}</body></message>`;
    return encoder.encode(xml);
  }

  private frames(direction: Direction, items: FramerItem[]): Frame[] {
    const frames: Frame[] = [];
    for (const item of items) {
      const frame: Frame = { raw: item.raw };
      if (item.error) frame.error = item.error;
      if (item.kind === 'header') this.header(direction, frame);
      else if (item.kind === 'stanza') this.stanza(direction, frame);
      else if (item.kind === 'close') {
        const outcome = this.state.streamClosed(direction);
        if (outcome.events) frame.events = outcome.events;
      }
      frames.push(frame);
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
  }
}
