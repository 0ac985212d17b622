/**
 * `MsnSession`: the ProtocolSession for one MSN connection (dispatch, notification server or switchboard;
 * which one it is follows from what the client says). Bytes in, one frame per command out; no I/O, no
 * timers, no logging, nothing thrown on any input.
 */
import {
  compactData,
  concatChunks,
  encodeUtf8,
  latin1,
  utf8,
  type Direction,
  type EventData,
  type EventDraft,
  type Frame,
  type IdentityDirectory,
  isUnknownId,
  type ImEvent,
  type ProtocolSession,
  type SessionContext,
  type ServerEndpoint,
} from '@imspect/sdk';
import { bareId, decodeName, payloadLength, versionNumber, type CommandLine } from './commands.js';
import { encodePayloadCommand, replaceWord, sdgMessage, switchboardMessage, withBody } from './encoder.js';
import { MsnFramer, type CommandItem } from './framer.js';
import { contactStatusOf, msnPresenceData, personalMessage } from './presence.js';
import { decodeBody, mediaType, parseHeaders } from './mime.js';
import { formatHostPort, parseHostPort, type MsnRoutes } from './routes.js';
import { findSlpInvite, p2pChunk, P2pReassembly } from './slp.js';

export const DEFAULT_MAX_LINE_BYTES = 8 * 1024;
export const MIN_MAX_LINE_BYTES = 512;
export const DEFAULT_MAX_PAYLOAD_BYTES = 256 * 1024;

export interface MsnSessionOptions {
  /** Longest command line; default 8 KiB. */
  maxLineBytes?: number;
  /** Largest payload parsed; longer ones pass through unparsed with a `payload-too-large` error. */
  maxPayloadBytes?: number;
  /** Report typing notifications (default true). */
  typing?: boolean;
  /** Shared redirect map (forward listeners). */
  routes?: MsnRoutes;
  /** Display name of notices sent to the local client. */
  noticeName?: string;
}

type Role = 'ns' | 'sb' | undefined;

/** A line that can start an MSN command: three capital letters (or an error number), then a space or the end. */
const COMMAND_LINE = /^(?:[A-Z]{3}|\d{3})(?: |$)/;

/** Most participants a switchboard joined mid-way learns from who writes (a conversation has a few). */
const MAX_LEARNED_PARTICIPANTS = 64;

/** Commands only a switchboard or only a notification server carries (for a stream whose start was missed). */
const SWITCHBOARD_ONLY: Record<Direction, ReadonlySet<string>> = {
  outgoing: new Set(['CAL', 'ANS']),
  incoming: new Set(['JOI', 'IRO', 'BYE', 'ACK', 'NAK']),
};
const NOTIFICATION_ONLY: Record<Direction, ReadonlySet<string>> = {
  outgoing: new Set(['CHG', 'SYN', 'PNG', 'ADC', 'ADL', 'UUX', 'XFR']),
  incoming: new Set(['ILN', 'NLN', 'FLN', 'SYN', 'LST', 'QNG', 'UBX', 'XFR', 'RNG', 'CHL']),
};

function roleOf(direction: Direction, command: string, words: readonly string[]): Role {
  if (SWITCHBOARD_ONLY[direction].has(command)) return 'sb';
  if (NOTIFICATION_ONLY[direction].has(command)) return 'ns';
  // The notification server's own messages (profile, mail notices) come from "Hotmail"; a switchboard's from a user.
  if (direction === 'incoming' && command === 'MSG' && words[1] !== undefined) return words[1] === 'Hotmail' ? 'ns' : 'sb';
  return undefined;
}

const AUTH_METHODS = new Set(['TWN', 'SSO', 'MD5', 'SHA']);

export class MsnSession implements ProtocolSession {
  readonly maxLineBytes: number;
  readonly maxPayloadBytes: number;
  private readonly framers: Record<Direction, MsnFramer>;
  private readonly lines: Record<Direction, number> = { outgoing: 0, incoming: 0 };
  private readonly midstream: boolean;
  /**
   * Per direction: out of step (joined mid-way, or bytes lost). The first line may be a fragment and lines until
   * the next one that looks like a command may be inside a payload: they pass through unread.
   */
  private readonly resync: Record<Direction, 'fragment' | 'command' | undefined>;
  /** The user as the switchboard's own messages name it when its `USR`/`ANS` was not seen. */
  private inferredLocal: string | undefined;
  /** Bytes were lost (`gap`): the login may have been among them, as in a stream joined mid-way. */
  private lostBytes = false;
  private readonly typing: boolean;
  private readonly routes: MsnRoutes | undefined;
  private readonly listener: ServerEndpoint | undefined;
  private readonly server: ServerEndpoint;
  private readonly clientIp: string;
  private readonly identity: IdentityDirectory | undefined;
  private readonly noticeName: string;

  /** Negotiated MSNP version (0 until the server's VER). */
  version = 0;
  role: Role;
  private local: string | undefined;
  /** The client's machine GUID (MSNP18+: `USR ... SSO S ticket response {guid}`, `email;{guid}`), once seen. */
  private machineGuid: string | undefined;
  /** The client program and its version, from `CVR` (`MSNMSGR`, `6.2.0208`). */
  private clientName: string | undefined;
  private clientVersion: string | undefined;
  /** The notification server accepted the login (`USR ... OK`): before that the client shows no message. */
  private loggedIn = false;
  /** Switchboard session id (from CAL ... RINGING, ANS, or RNG), else the cookie. */
  conversation: string | undefined;
  /** Remote participants of the switchboard, by bare id. */
  readonly participants = new Set<string>();
  /** Who the local user invited with CAL (a conversation's other party before they join). */
  private invited: string | undefined;
  /** SLP messages split over several P2P chunks, per direction. */
  private readonly p2p = new P2pReassembly();
  /** Contact GUIDs (MSNP10+ `C=`) to addresses, for `REM trid FL guid`. */
  private readonly contactGuids = new Map<string, string>();
  /** The client set its presence (`CHG`): contact-list commands after this are the user's own changes. */
  private online = false;
  /** The local user's last status code (`CHG`), for a personal message (`UUX`) that comes without one. */
  private ownStatus = '';
  /** Contacts' last status codes (`NLN`/`ILN`), for their personal messages (`UBX`); bounded, oldest dropped. */
  private readonly contactStatuses = new Map<string, string>();

  constructor(ctx: SessionContext, options: MsnSessionOptions = {}) {
    const max = Number.isFinite(ctx.maxFrameSize) ? Math.floor(ctx.maxFrameSize) : DEFAULT_MAX_LINE_BYTES + DEFAULT_MAX_PAYLOAD_BYTES;
    this.maxLineBytes = Math.max(MIN_MAX_LINE_BYTES, Math.min(options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES, max));
    this.maxPayloadBytes = Math.max(0, Math.min(options.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES, max - this.maxLineBytes));
    this.midstream = ctx.midstream === true;
    this.resync = this.midstream ? { outgoing: 'fragment', incoming: 'fragment' } : { outgoing: undefined, incoming: undefined };
    this.typing = options.typing !== false;
    this.routes = options.routes;
    this.listener = ctx.listener;
    this.server = ctx.server;
    this.clientIp = ctx.client.ip;
    this.identity = ctx.identity;
    this.noticeName = options.noticeName ?? 'imspect';
    const lengthOf = (line: CommandLine) => payloadLength(line, this.version);
    this.framers = {
      outgoing: new MsnFramer(this.maxLineBytes, this.maxPayloadBytes, lengthOf),
      incoming: new MsnFramer(this.maxLineBytes, this.maxPayloadBytes, lengthOf),
    };
  }

  get localId(): string | undefined {
    return this.local;
  }

  /**
   * The local user for events. A stream joined mid-way never saw the login: the login core saw from the same
   * client address (on a notification-server connection) stands in, else '' (core marks the id unknown), so
   * that no message is dropped for want of it.
   */
  private get me(): string | undefined {
    if (this.local !== undefined) return this.local;
    if (!this.midstream && !this.lostBytes) return undefined;
    return this.inferredLocal ?? this.identity?.localUser(this.clientIp, 'msn') ?? '';
  }

  /** Which of the user's machines this is: the MSNP18+ machine GUID its login or switchboard commands carry. */
  get clientId(): string | undefined {
    return this.machineGuid;
  }

  /** Bytes held in `direction` (an incomplete line, or a line waiting for its payload). */
  bufferedBytes(direction: Direction): number {
    return this.framers[direction].buffered;
  }

  push(direction: Direction, chunk: Uint8Array): Frame[] {
    const framer = this.framers[direction];
    framer.push(chunk);
    const frames: Frame[] = [];
    for (let item = framer.next(); item !== undefined; item = framer.next()) {
      if (item.kind === 'pass') {
        frames.push(item.error ? { raw: item.raw, error: item.error } : { raw: item.raw });
        continue;
      }
      const frame: Frame = { raw: item.raw };
      if (item.error) frame.error = item.error;
      this.lines[direction]++;
      // A stream joined mid-way (or after lost bytes) may start inside a line or a payload.
      if (this.inStep(direction, item.text)) this.handle(direction, item, frame);
      else if (this.resync[direction] === 'command' && item.payload === undefined && framer.resumeInside(item.text)) {
        // The line ended in a payload command (a payload without a line end ran into it): in step from its payload.
        this.resync[direction] = undefined;
      }
      frames.push(frame);
    }
    return frames;
  }

  end(direction: Direction): Frame[] {
    const rest = this.framers[direction].end();
    return rest === undefined ? [] : [{ raw: rest }];
  }

  /** Bytes were lost: the command held incomplete is passed through, and reading resumes at the next command line. */
  gap(direction: Direction, _bytesMissing: number): Frame[] {
    const frames = this.end(direction);
    this.resync[direction] = 'fragment';
    this.lostBytes = true;
    return frames;
  }

  /** Whether a line is read: out of step, the first line is skipped and then lines until one looks like a command. */
  private inStep(direction: Direction, text: string): boolean {
    const state = this.resync[direction];
    if (state === undefined) return true;
    if (state === 'fragment') {
      this.resync[direction] = 'command';
      return false;
    }
    if (!COMMAND_LINE.test(text)) return false;
    this.resync[direction] = undefined;
    return true;
  }

  respond(text: string, about?: ImEvent): Uint8Array | undefined {
    const local = this.local ?? about?.localId;
    const switchboard = this.role === 'sb' || (this.role === undefined && this.participants.size > 0);
    // Before the login is accepted a client shows nothing the server says but errors (a denied client only sees
    // the connection close).
    if (!switchboard && !this.loggedIn) return undefined;
    if (switchboard) {
      const sender = this.noticeSender(about);
      if (sender === undefined) return undefined;
      return switchboardMessage(sender, this.noticeName, text);
    }
    if (this.version >= 14 && this.version < 21 && about?.type === 'message' && about.remoteId.includes('@')) {
      // A message to or from a Yahoo contact (UUM/UBM): the answer comes as that contact, like a UBM.
      return encodePayloadCommand(['UBM', about.remoteId, '32', '1', '0'], withBody(encodeUtf8('MIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\n'), text));
    }
    if (this.version >= 21 && local !== undefined && about !== undefined) {
      const remote = about.remoteId.includes(':') ? about.remoteId : `1:${about.remoteId}`;
      return sdgMessage(`1:${local}`, remote, this.noticeName, text);
    }
    return undefined;
  }

  /** A switchboard only relays MSGs from participants: the notice comes from the other party. */
  private noticeSender(about: ImEvent | undefined): string | undefined {
    if (about && about.remoteId.includes('@') && about.remoteId !== this.local) return about.remoteId;
    return [...this.participants][0] ?? this.invited;
  }

  private handle(direction: Direction, item: CommandItem, frame: Frame): void {
    const { words, command } = item.line;
    // A stream joined mid-way learns what the connection is from the commands only one kind of server uses.
    if (this.role === undefined) this.role = roleOf(direction, command, words);
    if (direction === 'outgoing') this.handleOutgoing(command, words, item, frame);
    else this.handleIncoming(command, words, item, frame);
  }

  private handleOutgoing(command: string, words: string[], item: CommandItem, frame: Frame): void {
    switch (command) {
      case 'VER':
        this.role ??= 'ns';
        return;
      case 'CVR':
        // CVR trid locale os osver arch client clientver brand email
        if (words.length >= 8) {
          this.clientName = words[6];
          this.clientVersion = words[7];
        }
        if (words.length >= 10) this.local ??= bareId(words[9]!);
        // Said before the login: reported now, so a policy can turn an old client away on this very command.
        if (words.length >= 8) this.emit(frame, { type: 'other', subtype: 'client', localId: this.local ?? '', remoteId: this.server.host, data: this.clientData() });
        return;
      case 'USR':
        this.machineGuid ??= machineGuidIn(words);
        if (words.length === 4 && !AUTH_METHODS.has(words[2]!.toUpperCase())) {
          // Switchboard: USR trid email cookie
          this.role = 'sb';
          this.local = bareId(words[2]!);
          this.conversation ??= words[3];
        } else if (words.length >= 5 && AUTH_METHODS.has(words[2]!.toUpperCase())) {
          this.role = 'ns';
          if (words[3]!.toUpperCase() === 'I') this.local = bareId(words[4]!);
        }
        return;
      case 'ANS':
        this.machineGuid ??= machineGuidIn(words);
        // ANS trid email cookie sessid
        if (words.length >= 5) {
          this.role = 'sb';
          this.local = bareId(words[2]!);
          this.conversation = words[4];
        }
        return;
      case 'CAL':
        if (words.length >= 3) this.invited = bareId(words[2]!);
        return;
      case 'MSG':
        // Only a switchboard carries the client's messages: a stream joined mid-way learns its role here.
        this.role ??= 'sb';
        if (item.payload) this.message('outgoing', words, item, frame, undefined);
        return;
      case 'UUM':
        // UUM trid email network type len: a message to a Yahoo contact (MSNP14+), type 1 text, 2 typing
        if (item.payload && words.length >= 6) this.message('outgoing', words, item, frame, bareId(words[2]!));
        return;
      case 'SDG':
        if (item.payload) this.sdg('outgoing', words, item, frame);
        return;
      case 'OUT': {
        const me = this.me;
        if (me === undefined) return;
        if (this.role === 'sb' || (this.role === undefined && this.participants.size > 0)) {
          this.emit(frame, { type: 'leave', ...this.parties(), ...(this.participants.size === 1 ? { data: this.participantsData() } : {}) });
        } else this.emit(frame, { type: 'logout', localId: me, remoteId: this.server.host });
        return;
      }
      case 'CHG':
        this.online = true;
        // CHG trid status [clientid [msnobj]]: the user's own status (the server's echo is not a second change).
        if (words.length >= 3 && this.me !== undefined) {
          this.ownStatus = words[2]!;
          this.emit(frame, { type: 'other', subtype: 'status', localId: this.me, remoteId: this.server.host, data: msnPresenceData(words[2]!) });
        }
        return;
      case 'UUX':
        // UUX trid len: the user's own personal message.
        if (item.payload && this.me !== undefined) this.personalMessage('outgoing', this.me, item.payload, frame);
        return;
      case 'ADD':
      case 'ADC':
      case 'REM':
        this.contactLine(command, words, frame);
        return;
      case 'ADL':
      case 'RML':
        // The first ADL (MSNP13+) lists the whole contact list at sign-in: not a change.
        if (item.payload && this.online) this.contactList(command, item.payload, frame);
        return;
      default:
        return;
    }
  }

  private handleIncoming(command: string, words: string[], item: CommandItem, frame: Frame): void {
    switch (command) {
      case 'VER':
        if (words.length >= 3) this.version = versionNumber(words[2]!);
        this.role ??= 'ns';
        return;
      case 'USR':
        // NS: USR trid OK email [name] verified 0; SB: USR trid OK email name
        if (words.length >= 4 && words[2] === 'OK') {
          this.local = bareId(words[3]!);
          const ns = this.role === 'ns' || (this.role === undefined && words.length !== 5);
          if (ns) {
            this.role = 'ns';
            this.loggedIn = true;
            const data = this.clientData();
            this.emit(frame, { type: 'login', localId: this.local, remoteId: this.server.host, ...(data ? { data } : {}) });
          }
        }
        return;
      case 'XFR':
        this.redirect(words, 3, item, frame, words[2]?.toUpperCase() === 'SB' ? words[5] : undefined);
        return;
      case 'RNG':
        // RNG sessid host:port CKI cookie email name
        this.redirect(words, 2, item, frame, words[4]);
        return;
      case 'CAL':
        // CAL trid RINGING sessid
        if (words[2] === 'RINGING' && words[3] !== undefined) this.conversation = words[3];
        return;
      case 'JOI':
        // JOI email name [caps]
        if (words[1] !== undefined) this.joined(bareId(words[1]), frame, undefined);
        return;
      case 'IRO':
        // IRO trid index total email name [caps]
        if (words[4] !== undefined) this.joined(bareId(words[4]), frame, 'present');
        return;
      case 'BYE':
        if (words[1] !== undefined) {
          const who = bareId(words[1]);
          const me = this.me;
          if (who === me || me === undefined) return;
          const event = { type: 'leave' as const, ...this.parties({ participant: who }) };
          this.participants.delete(who);
          this.emit(frame, event);
        }
        return;
      case 'MSG':
        if (item.payload && words[1] !== undefined) {
          const sender = bareId(words[1]);
          // A switchboard whose IRO/JOI was not seen learns its participants from who writes.
          if ((this.midstream || this.lostBytes) && this.role === 'sb' && sender !== this.me && sender.includes('@') && this.participants.size < MAX_LEARNED_PARTICIPANTS) {
            this.participants.add(sender);
          }
          this.message('incoming', words, item, frame, sender);
        }
        return;
      case 'UBM':
        // UBM email network type len
        if (item.payload && words.length >= 5) this.message('incoming', words, item, frame, bareId(words[1]!));
        return;
      case 'SDG':
        if (item.payload) this.sdg('incoming', words, item, frame);
        return;
      case 'OUT':
        if (this.me !== undefined && this.role !== 'sb' && !(this.role === undefined && this.participants.size > 0)) {
          this.emit(frame, { type: 'logout', localId: this.me, remoteId: this.server.host, ...(words[1] ? { subtype: words[1].toLowerCase() } : {}) });
        }
        return;
      case 'LST':
        this.rememberGuid(words.slice(1));
        return;
      case 'NLN':
      case 'ILN':
      case 'FLN':
        this.contactStatus(command, words, frame);
        return;
      case 'UBX':
        // UBX id [network] len: a contact's personal message.
        if (item.payload && words[1] !== undefined && this.me !== undefined) this.personalMessage('incoming', bareId(words[1]), item.payload, frame);
        return;
      case 'ADD':
      case 'ADC':
        this.rememberGuid(words.slice(3));
        // Someone added the local user (reverse list): not the user's own addition.
        if (words[2] === 'RL' && this.local !== undefined) {
          const contact = contactOf(words.slice(3));
          if (contact) this.emit(frame, { type: 'contact', subtype: 'list', localId: this.local, remoteId: contact, data: { list: 'RL' } });
        }
        return;
      default:
        return;
    }
  }

  /** `XFR`/`RNG`: remember where the cookie or the client's next connection goes, and point it at imspect. */
  private redirect(words: string[], addressIndex: number, item: CommandItem, frame: Frame, cookie: string | undefined): void {
    const address = words[addressIndex];
    if (address === undefined) return;
    const server = parseHostPort(address);
    if (!server) return;
    if (!this.listener || !this.routes) return;
    if (cookie !== undefined) this.routes.rememberCookie(cookie, server);
    else if (words[0] === 'XFR' && words[2]?.toUpperCase() === 'NS') this.routes.rememberClient(this.clientIp, server);
    else return;
    const terminator = item.raw[item.lineLength - 2] === 0x0d ? '\r\n' : '\n';
    frame.replacement = replaceWord(words, addressIndex, formatHostPort(this.listener), terminator);
  }

  private joined(who: string, frame: Frame, subtype: string | undefined): void {
    const me = this.me;
    if (me === undefined || who === me) return; // the local user's own endpoints (MSNP18)
    this.participants.add(who);
    this.emit(frame, { type: 'join', ...(subtype ? { subtype } : {}), ...this.parties({ participant: who }) });
  }

  /**
   * Local and remote ids of a switchboard event: the other party, or, in a group conversation (more than one
   * other participant), the conversation, with every participant in `data`. `extra` goes first in `data`.
   */
  private parties(extra?: EventData): { localId: string; remoteId: string; conversation?: string; data?: EventData } {
    const localId = this.me ?? '';
    const conversation = this.conversation;
    let remoteId: string;
    let data = extra;
    if (this.participants.size > 1) {
      remoteId = conversation ?? [...this.participants].sort().join(',');
      // A group conversation: `conversation` equals `remoteId`, or (session id unknown) `groupchat: true` says so.
      data = { ...extra, ...this.participantsData(), ...(conversation === undefined ? { groupchat: true } : {}) };
    } else remoteId = [...this.participants][0] ?? this.invited ?? conversation ?? '';
    return { localId, remoteId, ...(conversation !== undefined ? { conversation } : {}), ...(data !== undefined ? { data } : {}) };
  }

  private participantsData(): EventData {
    return { participants: [...this.participants].sort().join(',') };
  }

  /** `{ client: 'MSNMSGR', version: '6.2.0208', 'protocol-version': 'MSNP8' }`, as far as `CVR` and `VER` told. */
  private clientData(): EventData | undefined {
    return compactData({ client: this.clientName, version: this.clientVersion, 'protocol-version': this.version > 0 ? `MSNP${this.version}` : undefined });
  }

  /** `NLN`/`ILN`/`FLN`: a contact's status (at sign-in, `ILN`, or a change). */
  private contactStatus(command: string, words: string[], frame: Frame): void {
    const change = contactStatusOf(command, words);
    const me = this.me;
    if (change === undefined || me === undefined) return;
    this.contactStatuses.delete(change.contact);
    if (this.contactStatuses.size >= MAX_REMEMBERED_STATUSES) this.contactStatuses.delete(this.contactStatuses.keys().next().value!);
    this.contactStatuses.set(change.contact, change.code);
    this.emit(frame, { type: 'contact', subtype: 'status', localId: me, remoteId: change.contact, data: msnPresenceData(change.code) });
  }

  /** `UUX`/`UBX`: a personal message, reported with the last status code known for its owner (else none). */
  private personalMessage(direction: Direction, who: string, payload: Uint8Array, frame: Frame): void {
    const description = personalMessage(payload);
    const me = this.me;
    if (description === undefined || me === undefined) return;
    if (direction === 'outgoing') {
      this.emit(frame, { type: 'other', subtype: 'status', localId: me, remoteId: this.server.host, data: msnPresenceData(this.ownStatus, description) });
    } else {
      this.emit(frame, { type: 'contact', subtype: 'status', localId: me, remoteId: who, data: msnPresenceData(this.contactStatuses.get(who) ?? '', description) });
    }
  }

  private emit(frame: Frame, event: EventDraft): void {
    // Out of step and without the user's own login: the ids come from other evidence, and say so.
    if (this.local === undefined && (this.midstream || this.lostBytes) && event.type !== 'login') {
      event.data = { ...event.data, identity: isUnknownId(event.localId) ? 'unknown' : 'inferred' };
    }
    (frame.events ??= []).push(event);
  }

  /** `MSG`, `UUM`, `UBM`: a MIME payload. */
  private message(direction: Direction, words: string[], item: CommandItem, frame: Frame, peer: string | undefined): void {
    if (this.me === undefined) return;
    const payload = item.payload!;
    const head = parseHeaders(payload);
    const contentType = head.headers.get('content-type');
    const type = mediaType(contentType);
    const body = payload.subarray(head.bodyOffset);
    if (this.local === undefined && this.role === 'sb') this.learnFromHeaders(direction, type, head.headers);
    // MSNP18: what the local user sends from another endpoint reaches this one too. It is outgoing.
    const own = direction === 'incoming' && peer !== undefined && peer === this.local && this.role === 'sb';
    const parties = own ? this.partiesFor('outgoing', undefined) : this.partiesFor(direction, peer);
    if (own && type !== 'text/plain') return;
    if (type === 'text/plain') {
      const text = decodeBody(body, contentType);
      this.emit(frame, { type: 'message', ...parties, text, ...(own ? { direction: 'outgoing' as const } : {}) });
      const prefix = payload.subarray(0, head.bodyOffset);
      frame.rewrite = (newText: string) => encodePayloadCommand(words, withBody(prefix, newText));
      return;
    }
    if (type === 'text/x-msmsgscontrol') {
      if (!this.typing) return;
      const user = head.headers.get('typinguser');
      let remote = parties;
      if (direction === 'incoming' && user) remote = this.participants.size > 1 ? this.parties({ from: bareId(user) }) : { ...parties, remoteId: bareId(user) };
      this.emit(frame, { type: 'typing', ...remote });
      return;
    }
    if (type === 'text/x-msnmsgr-datacast') {
      // ID 1 is a nudge; other datacasts (winks, voice clips) carry data, not text.
      const id = parseHeaders(body).headers.get('id');
      if (id === '1') this.emit(frame, { type: 'message', subtype: 'nudge', ...parties });
      return;
    }
    if (type === 'text/x-msmsgsinvite') {
      const fields = parseHeaders(body).headers;
      if ((fields.get('invitation-command') ?? '').toUpperCase() !== 'INVITE') return;
      const name = fields.get('application-file');
      if (name === undefined) return;
      const size = Number(fields.get('application-filesize'));
      this.emit(frame, { type: 'file', subtype: 'invite', ...parties, file: { name, ...(Number.isSafeInteger(size) && size >= 0 ? { size } : {}) } });
      return;
    }
    if (type === 'application/x-msnmsgrp2p') {
      // A P2P version 1 chunk is placed in its message; anything else (version 2) is searched as it is.
      const chunk = p2pChunk(body);
      // Session data (a file's contents) is no signalling: not searched.
      if (chunk && chunk.sessionId !== 0) return;
      const slp = chunk ? this.p2p.add(`${direction}:${peer ?? ''}`, chunk) : body;
      const invite = slp === undefined ? undefined : findSlpInvite(slp);
      if (!invite) return;
      const dest = head.headers.get('p2p-dest');
      const target = direction === 'outgoing' && dest && this.participants.size <= 1 ? { ...parties, remoteId: bareId(dest) } : parties;
      const data = compactData({ guid: invite.guid, session: invite.sessionId || undefined });
      if (invite.kind === 'file') {
        this.emit(frame, { type: 'file', subtype: 'p2p', ...target, ...(invite.file ? { file: invite.file } : {}), ...(data ? { data } : {}) });
      } else if (invite.kind === 'webcam') {
        this.emit(frame, { type: 'webcam', subtype: invite.direction!, ...target, ...(data ? { data } : {}) });
      } else if (invite.kind === 'emoticon' || invite.kind === 'display-picture') {
        this.emit(frame, { type: invite.kind, ...target, ...(invite.object ? { text: invite.object } : {}), ...(data ? { data } : {}) });
      }
    }
  }

  /**
   * A switchboard whose `USR`/`ANS` was not seen: the user's own typing notices name the user (`TypingUser`),
   * and so do the P2P messages others send to the user (`P2P-Dest`).
   */
  private learnFromHeaders(direction: Direction, type: string | undefined, headers: ReadonlyMap<string, string>): void {
    const named =
      direction === 'outgoing' && type === 'text/x-msmsgscontrol'
        ? headers.get('typinguser')
        : direction === 'incoming' && type === 'application/x-msnmsgrp2p'
          ? headers.get('p2p-dest')
          : undefined;
    if (named !== undefined && named.includes('@')) this.inferredLocal ??= bareId(named);
  }

  /** Parties of a message: outgoing to the conversation; incoming from `peer`. */
  private partiesFor(direction: Direction, peer: string | undefined): { localId: string; remoteId: string; conversation?: string; data?: EventData } {
    const base = this.parties();
    if (peer === undefined) return base;
    if (this.role !== 'sb') return { localId: base.localId, remoteId: peer };
    if (this.participants.size > 1) return direction === 'incoming' ? this.parties({ from: peer }) : base;
    return { ...base, remoteId: peer };
  }

  /** MSNP21 `SDG`: Routing, Reliability and Messaging blocks, then the body. */
  private sdg(direction: Direction, words: string[], item: CommandItem, frame: Frame): void {
    const payload = item.payload!;
    const routing = parseHeaders(payload);
    if (!routing.complete) return;
    const reliability = parseHeaders(payload, routing.bodyOffset);
    if (!reliability.complete) return;
    const messaging = parseHeaders(payload, reliability.bodyOffset);
    const to = routing.headers.get('to');
    const from = routing.headers.get('from');
    if (to === undefined || from === undefined) return;
    const messageType = (messaging.headers.get('message-type') ?? '').toLowerCase();
    const toId = bareId(to);
    const fromId = bareId(from);
    // The local user's own messages, sent from another endpoint, come back from the server (MSNP18+ MPOP).
    const own = direction === 'incoming' && this.local !== undefined && fromId === this.local;
    const sent = direction === 'outgoing' || own;
    const group = /^(?:9|10|19):/.test(to.split(';')[0]!);
    const localId = sent ? fromId : group ? (this.local ?? '') : toId;
    if (localId !== '') this.local ??= localId;
    const remoteId = sent ? (group ? to.split(';')[0]! : toId) : group ? to.split(';')[0]! : fromId;
    const parties: EventDraft = {
      type: 'message',
      localId,
      remoteId,
      ...(group ? { conversation: remoteId, ...(sent ? {} : { data: { from: fromId } }) } : {}),
      ...(own ? { direction: 'outgoing' as const } : {}),
    };
    if (messageType === 'text') {
      const contentType = messaging.headers.get('content-type');
      const declared = Number(messaging.headers.get('content-length'));
      const bodyBytes = payload.subarray(messaging.bodyOffset, Number.isSafeInteger(declared) && declared >= 0 ? messaging.bodyOffset + declared : payload.byteLength);
      this.emit(frame, { ...parties, text: decodeBody(bodyBytes, contentType) });
      const before = payload.subarray(0, reliability.bodyOffset);
      const messagingHead = latin1(payload.subarray(reliability.bodyOffset, messaging.bodyOffset));
      frame.rewrite = (newText: string) => {
        const body = encodeUtf8(newText);
        const head = encodeUtf8(messagingHead.replace(/(^|\n)(Content-Length:[ \t]*)\d+/i, `$1$2${body.byteLength}`));
        return encodePayloadCommand(words, concatChunks([before, head, body]));
      };
    } else if (messageType === 'control/typing') {
      if (this.typing) this.emit(frame, { ...parties, type: 'typing' });
    } else if (messageType === 'nudge') {
      this.emit(frame, { ...parties, subtype: 'nudge' });
    }
  }

  /** `N=email ... C=guid` (MSNP10+ `LST`, `ADC` replies): remembered for `REM` by GUID. */
  private rememberGuid(args: string[]): void {
    const email = args.find((a) => a.startsWith('N='));
    const guid = args.find((a) => a.startsWith('C='));
    if (email === undefined || guid === undefined || this.contactGuids.size >= 10_000) return;
    this.contactGuids.set(guid.slice(2), bareId(email.slice(2)));
  }

  /** MSNP10-12 `ADC trid FL N=email`, MSNP8-9 `ADD trid FL email name`, `REM trid FL email|guid`. */
  private contactLine(command: string, words: string[], frame: Frame): void {
    if (this.me === undefined || words.length < 4) return;
    const contact = contactOf(words.slice(3)) ?? (command === 'REM' ? this.contactGuids.get(words[3]!) : undefined);
    if (!contact) return;
    const list = words[2]!;
    // Only an addition to the forward list adds a contact; the allow and block lists are permissions.
    const subtype = command === 'REM' ? 'remove' : list.toUpperCase() === 'FL' ? 'add' : 'list';
    this.emit(frame, { type: 'contact', subtype, localId: this.me ?? '', remoteId: contact, data: { list } });
  }

  /** MSNP13+ `ADL`/`RML` payload: `<ml><d n="domain"><c n="user" l="1" t="1"/></d></ml>`. */
  private contactList(command: string, payload: Uint8Array, frame: Frame): void {
    if (this.local === undefined) return;
    const xml = utf8(payload);
    for (const domain of xml.matchAll(/<d\s+n="([^"]*)"\s*>([\s\S]*?)<\/d>/g)) {
      for (const c of domain[2]!.matchAll(/<c\s+([^>]*?)\/?>/g)) {
        const attrs = c[1]!;
        const user = /\bn="([^"]*)"/.exec(attrs)?.[1];
        if (!user) continue;
        const list = Number(/\bl="(\d+)"/.exec(attrs)?.[1] ?? '0');
        // Only changes to the forward list (1) or blocking (4) are the user's own contact decisions.
        if ((list & 0b101) === 0) continue;
        const subtype = command === 'RML' ? 'remove' : (list & 1) !== 0 ? 'add' : 'list';
        this.emit(frame, { type: 'contact', subtype, localId: this.local, remoteId: `${user}@${domain[1]}`, data: { list: listNames(list) } });
      }
    }
  }
}

/** How many contacts' status codes a session keeps (a contact list holds at most a few thousand). */
const MAX_REMEMBERED_STATUSES = 4096;

/** The contact of `ADD`/`ADC`/`REM` arguments after the list name: `N=email`, or a plain email. */
function contactOf(args: string[]): string | undefined {
  for (const arg of args) {
    if (arg.startsWith('N=')) return bareId(arg.slice(2));
  }
  const first = args[0];
  if (first !== undefined && first.includes('@')) return bareId(decodeName(first));
  return undefined;
}

const GUID = /^\{[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\}$/i;

/** A machine GUID among a command's words: a word of its own, or an endpoint suffix (`email;{guid}`). */
function machineGuidIn(words: readonly string[]): string | undefined {
  for (const word of words.slice(2)) {
    const semi = word.lastIndexOf(';');
    const candidate = semi >= 0 ? word.slice(semi + 1) : word;
    if (GUID.test(candidate)) return candidate.toLowerCase();
  }
  return undefined;
}

/** The MSNP13+ list bits (`l=`), in the order of their values. */
const LIST_BITS: ReadonlyArray<readonly [number, string]> = [
  [1, 'FL'],
  [2, 'AL'],
  [4, 'BL'],
  [8, 'RL'],
  [16, 'PL'],
];

/**
 * `ADL`/`RML` list bits as the list names older dialects write (`5` -> `FL,BL`), so `list` is text naming lists
 * on every MSN dialect.
 */
function listNames(bits: number): string {
  return LIST_BITS.filter(([bit]) => (bits & bit) !== 0)
    .map(([, name]) => name)
    .join(',');
}
