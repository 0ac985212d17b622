/**
 * `YahooState`: what one YMSG connection has said so far (the local id, the server's header layout, the
 * conferences and their members) and the events each packet carries.
 *
 * Ids: outgoing packets name the local user in key 1 (or 0, or 4 for NOTIFY) and the other party in key 5;
 * incoming ones name the local user in key 5 and the other party in key 4. Conferences are named by key 57.
 */
import { compactData, presenceData, type Direction, type EventData, type EventDraft } from '@imspect/sdk';
import { Service, type YmsgPair } from './packet.js';
import { rewriteText } from './encoder.js';
import { STATUS_SERVICE, statusesOf } from './presence.js';
import { decodeText } from './text.js';
import type { YmsgPacket } from './ymsg-packet.js';

/** The local id before the connection has named it. */
export const UNKNOWN_ID = '*';
/** Status the server sets on a LOGOFF that ends the local user's session (e.g. logged in elsewhere). */
const STATUS_DISCONNECTED = 0xffffffff;

export interface PacketOutcome {
  events?: EventDraft[];
  rewrite?: (text: string) => Uint8Array;
}

interface TextMessage {
  from?: string;
  to?: string;
  text?: YmsgPair;
  utf8: boolean;
}

export class YahooState {
  localId: string | undefined;
  /** Header bytes 4..7 (version, vendor) of the server's last packet, and its session id. */
  serverVersionBytes: Uint8Array = new Uint8Array(4);
  sessionId = 0;
  private loggedIn = false;
  private loggedOut = false;
  /** The YMSG version the client writes in its headers, and its program version (AUTHRESP key 135). */
  private clientProtocol = 0;
  private clientVersion: string | undefined;
  private clientReported = false;
  /** Conference room -> the other participants, in the order they became known. */
  private readonly conferences = new Map<string, Set<string>>();

  /**
   * The client's AUTH or AUTHRESP was seen: the server's next LOGON ends this login. A stream joined mid-way
   * that saw neither cannot tell its login from a contact coming online, so it reports none.
   */
  private sawAuth = false;

  constructor(
    private readonly serverName: string,
    private readonly midstream = false,
  ) {}

  /** The server accepted the login (its first LOGON): only then does the client show what it is sent. */
  get isLoggedIn(): boolean {
    return this.loggedIn;
  }

  members(room: string): string[] {
    return [...(this.conferences.get(room) ?? [])];
  }

  handle(direction: Direction, packet: YmsgPacket): PacketOutcome {
    if (direction === 'incoming') {
      const v = this.serverVersionBytes;
      const raw = packet.raw;
      if (v[0] !== raw[4] || v[1] !== raw[5] || v[2] !== raw[6] || v[3] !== raw[7]) this.serverVersionBytes = raw.slice(4, 8);
      if (packet.header.sessionId !== 0) this.sessionId = packet.header.sessionId;
    }
    const out = direction === 'outgoing';
    if (out && this.clientProtocol === 0) this.clientProtocol = packet.header.version;
    switch (packet.service) {
      case Service.AUTH:
        if (out) {
          this.sawAuth = true;
          this.learnLocal(packet.firstOf(1, 0, 2));
        }
        return {};
      case Service.AUTHRESP:
        if (!out) return {};
        this.sawAuth = true;
        this.learnLocal(packet.firstOf(1, 0, 2));
        return this.clientReport(packet);
      case Service.ADDBUDDY:
      case Service.REMBUDDY:
        return out ? this.contact(packet) : {};
      case Service.LOGON:
        return this.withStatuses(direction, packet, this.logon(direction, packet));
      case Service.LOGOFF:
        return this.withStatuses(direction, packet, this.logoff(direction, packet));
      case STATUS_SERVICE.ISAWAY:
      case STATUS_SERVICE.ISBACK:
      case STATUS_SERVICE.Y6_STATUS_UPDATE:
      case STATUS_SERVICE.STATUS_15:
        return this.withStatuses(direction, packet, {});
      case Service.MESSAGE:
        return this.message(direction, packet);
      case Service.NOTIFY:
        return this.notify(direction, packet);
      case Service.FILETRANSFER:
      case Service.P2PFILEXFER:
        return this.fileTransfer(direction, packet);
      case Service.FILETRANS_15:
        return this.fileTransfer15(direction, packet);
      case Service.CONF_INVITE:
      case Service.CONF_ADDINVITE:
        return this.conferenceInvite(direction, packet);
      case Service.CONF_LOGON:
        return this.conferenceLogon(direction, packet);
      case Service.CONF_DECLINE:
      case Service.CONF_LOGOFF:
        return this.conferenceLeave(direction, packet);
      case Service.CONF_MSG:
        return this.conferenceMessage(direction, packet);
      default:
        return {};
    }
  }

  /**
   * Adds the presence a packet carries to what it already gave: from the server, each buddy record other than the
   * user's own is a contact's status (a LOGOFF naming a buddy without a status: offline); from the client, its
   * own status.
   */
  private withStatuses(direction: Direction, packet: YmsgPacket, outcome: PacketOutcome): PacketOutcome {
    const presence: EventDraft[] = [];
    const statuses = statusesOf(packet);
    if (direction === 'outgoing') {
      for (const s of statuses) {
        if (s.who !== undefined && s.who !== this.localId) continue;
        presence.push({ type: 'other', subtype: 'status', localId: this.localOf('outgoing', packet), remoteId: this.serverName, data: s.data });
      }
    } else if (this.localId !== undefined) {
      // A LOGOFF naming buddies says they left, whatever status number it repeats.
      const offline = packet.service === Service.LOGOFF;
      for (const s of statuses) {
        if (s.who === undefined || s.who === '' || s.who === this.localId) continue;
        const data = offline ? presenceData({ status: 'offline', 'protocol-status': String(s.data['protocol-status'] ?? '') }) : s.data;
        presence.push({ type: 'contact', subtype: 'status', localId: this.local, remoteId: s.who, data });
      }
      const gone = packet.first(7);
      if (offline && statuses.length === 0 && gone !== undefined && gone !== '' && gone !== this.localId) {
        presence.push({ type: 'contact', subtype: 'status', localId: this.local, remoteId: gone, data: presenceData({ status: 'offline', 'protocol-status': '' }) });
      }
    }
    if (presence.length === 0) return outcome;
    return { ...outcome, events: [...(outcome.events ?? []), ...presence] };
  }

  private learnLocal(id: string | undefined): void {
    if (id !== undefined && id !== '') this.localId = id;
  }

  private get local(): string {
    return this.localId ?? UNKNOWN_ID;
  }

  /** Outgoing: the local user from key 1/0/4; incoming: from key 5/1. Falls back to the id already known. */
  private localOf(direction: Direction, packet: YmsgPacket): string {
    return (direction === 'outgoing' ? packet.firstOf(1, 0, 4) : packet.firstOf(5, 1)) ?? this.local;
  }

  private remoteOf(direction: Direction, packet: YmsgPacket): string {
    return (direction === 'outgoing' ? packet.firstOf(5) : packet.firstOf(4)) ?? UNKNOWN_ID;
  }

  private logon(direction: Direction, packet: YmsgPacket): PacketOutcome {
    // The server's first LOGON names the local user and ends the login; later ones are contacts coming online.
    if (direction === 'outgoing' || this.loggedIn || packet.header.status === STATUS_DISCONNECTED) return {};
    if (this.midstream && !this.sawAuth) {
      // Not known to be the login, but the server addresses the user in it all the same.
      if (this.localId === undefined) this.learnLocal(packet.firstOf(1, 0));
      return {};
    }
    this.learnLocal(packet.firstOf(1, 0));
    this.loggedIn = true;
    const data = this.clientData();
    return { events: [{ type: 'login', localId: this.local, remoteId: this.serverName, ...(data === undefined ? {} : { data }) }] };
  }

  /**
   * The client's AUTHRESP says its version (key 135, `9.0.0.2162` or `5, 5, 0, 1244`) before the login: reported
   * as an `other`/`client` event on that packet, so a policy can turn an old client away there.
   */
  private clientReport(packet: YmsgPacket): PacketOutcome {
    const version = packet.first(135)?.trim();
    if (version !== undefined && version !== '')
      this.clientVersion = version
        .split(/[\s,]+/)
        .filter((p) => p !== '')
        .join('.');
    if (this.clientReported) return {};
    this.clientReported = true;
    const data = this.clientData();
    if (data === undefined) return {};
    return { events: [{ type: 'other', subtype: 'client', localId: this.local, remoteId: this.serverName, data }] };
  }

  /** `{ version: '9.0.0.2162', 'protocol-version': 'YMSG16' }`, as far as the client said. */
  private clientData(): EventData | undefined {
    return compactData({ version: this.clientVersion, 'protocol-version': this.clientProtocol > 0 ? `YMSG${this.clientProtocol}` : undefined });
  }

  /** ADDBUDDY (0x83) / REMBUDDY (0x84) from the client: own id key 1, the contact key 7, the group key 65. */
  private contact(packet: YmsgPacket): PacketOutcome {
    const who = packet.first(7);
    if (who === undefined || who === '') return {};
    const event: EventDraft = { type: 'contact', subtype: packet.service === Service.ADDBUDDY ? 'add' : 'remove', localId: this.localOf('outgoing', packet), remoteId: who };
    const group = packet.first(65);
    if (group !== undefined && group !== '') event.data = { group };
    const text = packet.first(14);
    if (text !== undefined && text.trim() !== '') event.text = text;
    return { events: [event] };
  }

  private logoff(direction: Direction, packet: YmsgPacket): PacketOutcome {
    if (this.loggedOut) return {};
    if (direction === 'incoming') {
      // A contact going offline names the contact in key 7; the local session ending names no one (or us).
      const who = packet.first(7);
      if (who !== undefined && who !== '' && who !== this.localId) return {};
    }
    this.loggedOut = true;
    return { events: [{ type: 'logout', localId: this.local, remoteId: this.serverName }] };
  }

  private message(direction: Direction, packet: YmsgPacket): PacketOutcome {
    const messages = this.textMessages(direction, packet);
    const events: EventDraft[] = [];
    for (const m of messages) {
      if (m.text === undefined) continue;
      const local = direction === 'outgoing' ? (m.from ?? this.local) : (m.to ?? this.local);
      const remote = (direction === 'outgoing' ? m.to : m.from) ?? UNKNOWN_ID;
      events.push({ type: 'message', localId: local, remoteId: remote, text: decodeText(packet.valueBytes(m.text), m.utf8) });
    }
    if (events.length === 0) return {};
    const only = messages.filter((m) => m.text !== undefined);
    if (events.length === 1 && packet.bodyError === undefined) {
      const m = only[0]!;
      return { events, rewrite: (text) => rewriteText(packet, m.text!, m.utf8, text) };
    }
    return { events };
  }

  /**
   * The messages in a MESSAGE packet. The server delivers stored (offline) messages several to a packet, each
   * starting with its sender (key 4); any other packet holds one.
   */
  private textMessages(direction: Direction, packet: YmsgPacket): TextMessage[] {
    const list: TextMessage[] = [];
    let current: TextMessage = { utf8: false };
    list.push(current);
    for (const pair of packet.pairs) {
      if (direction === 'incoming' && pair.key === 4 && (current.from !== undefined || current.text !== undefined)) {
        current = { utf8: false };
        list.push(current);
      }
      switch (pair.key) {
        case 0:
        case 1:
          if (direction === 'outgoing') current.from ??= packet.value(pair) || undefined;
          break;
        case 4:
          current.from = packet.value(pair) || undefined;
          break;
        case 5:
          current.to ??= packet.value(pair) || undefined;
          break;
        case 14:
          current.text ??= pair;
          break;
        case 97:
          if (packet.value(pair) === '1') current.utf8 = true;
          break;
      }
    }
    return list;
  }

  private notify(direction: Direction, packet: YmsgPacket): PacketOutcome {
    const kind = packet.first(49)?.toUpperCase();
    const local = this.localOf(direction, packet);
    const remote = this.remoteOf(direction, packet);
    if (kind === 'TYPING') {
      const subtype = packet.first(13) === '0' ? 'done' : 'active';
      return { events: [{ type: 'typing', subtype, localId: local, remoteId: remote }] };
    }
    if (kind === 'WEBCAMINVITE') {
      // An invitation carries a blank key 14; the answer carries 1 (accepted) or -1 (declined).
      const answer = (packet.first(14) ?? '').trim();
      const event: EventDraft = { type: 'webcam', subtype: answer === '' ? 'invite' : answer === '-1' ? 'decline' : 'accept', localId: local, remoteId: remote };
      return { events: [event] };
    }
    return {};
  }

  /** FILETRANSFER (0x46) and P2PFILEXFER (0x4D): one file, named by key 27 (or the URL in key 20), size in 28. */
  private fileTransfer(direction: Direction, packet: YmsgPacket): PacketOutcome {
    const service = packet.first(49);
    if (service !== undefined && service.toUpperCase() !== 'FILEXFER') return {}; // IMVironments share the service
    if (packet.service === Service.P2PFILEXFER && (packet.first(13) ?? '1') !== '1') return {}; // answers, not offers
    const url = packet.first(20);
    const name = packet.firstOf(27, 53) ?? (url === undefined ? undefined : nameFromUrl(url));
    if (name === undefined) return {};
    const event: EventDraft = {
      type: 'file',
      subtype: packet.service === Service.FILETRANSFER ? 'filetransfer' : 'p2p',
      localId: this.localOf(direction, packet),
      remoteId: this.remoteOf(direction, packet),
      file: withSize(name, packet.first(28)),
    };
    const text = packet.first(14);
    if (text !== undefined && text.trim() !== '') event.text = text;
    if (url !== undefined) event.data = { url };
    return { events: [event] };
  }

  /** FILETRANS_15 (0xDC): an offer (key 222 = 1) lists its files as repeated 27 (name) / 28 (size) pairs. */
  private fileTransfer15(direction: Direction, packet: YmsgPacket): PacketOutcome {
    const action = packet.first(222);
    if (action !== '1') return {};
    const names = packet.all(27);
    const sizes = packet.all(28);
    const local = this.localOf(direction, packet);
    const remote = this.remoteOf(direction, packet);
    const transfer = packet.first(265);
    const events: EventDraft[] = names.map((name, i) => {
      const event: EventDraft = { type: 'file', subtype: 'filetrans15', localId: local, remoteId: remote, file: withSize(name, sizes[i]) };
      if (transfer !== undefined) event.data = { transfer };
      return event;
    });
    return events.length === 0 ? {} : { events };
  }

  private room(packet: YmsgPacket): string | undefined {
    const room = packet.first(57);
    return room === undefined || room === '' ? undefined : room;
  }

  private addMembers(room: string, ids: Iterable<string>): Set<string> {
    let set = this.conferences.get(room);
    if (set === undefined) {
      set = new Set();
      this.conferences.set(room, set);
    }
    for (const id of ids) if (id !== '' && id !== this.localId) set.add(id);
    return set;
  }

  /** `participants` as MSN's switchboards report them: the other people of the conversation, comma-separated. */
  private membersData(room: string): EventData {
    return { participants: this.members(room).join(',') };
  }

  /** CONFINVITE (0x18) / CONFADDINVITE (0x1C): inviter 50, invitees 51/52, members already there 53, text 58. */
  private conferenceInvite(direction: Direction, packet: YmsgPacket): PacketOutcome {
    const room = this.room(packet);
    if (room === undefined) return {};
    const inviter = packet.first(50);
    this.addMembers(room, [...(inviter ? [inviter] : []), ...packet.all(52), ...packet.all(53), ...packet.all(51)]);
    const local = direction === 'outgoing' ? (packet.firstOf(1, 50) ?? this.local) : (packet.firstOf(1, 5) ?? this.local);
    this.learnLocalIfUnknown(local);
    const event: EventDraft = { type: 'other', subtype: 'conference-invite', localId: local, remoteId: room, conversation: room };
    const text = packet.first(58);
    if (text !== undefined && text !== '') event.text = text;
    event.data = { ...(direction === 'incoming' && inviter ? { from: inviter } : {}), ...this.membersData(room) };
    return { events: [event] };
  }

  private learnLocalIfUnknown(id: string): void {
    if (this.localId === undefined && id !== UNKNOWN_ID) this.localId = id;
  }

  /** CONFLOGON (0x19): the local user joins (outgoing, members in key 3), or someone else did (incoming, key 53). */
  private conferenceLogon(direction: Direction, packet: YmsgPacket): PacketOutcome {
    const room = this.room(packet);
    if (room === undefined) return {};
    if (direction === 'incoming') {
      this.addMembers(room, packet.all(53));
      return {};
    }
    this.addMembers(room, packet.all(3));
    const local = packet.firstOf(1) ?? this.local;
    return { events: [{ type: 'join', subtype: 'conference', localId: local, remoteId: room, conversation: room, data: this.membersData(room) }] };
  }

  /** CONFDECLINE (0x1A) and CONFLOGOFF (0x1B): the local user leaves (outgoing), or someone else did (54 / 56). */
  private conferenceLeave(direction: Direction, packet: YmsgPacket): PacketOutcome {
    const room = this.room(packet);
    if (room === undefined) return {};
    if (direction === 'incoming') {
      const set = this.conferences.get(room);
      for (const who of [...packet.all(54), ...packet.all(56)]) set?.delete(who);
      return {};
    }
    const local = packet.firstOf(1) ?? this.local;
    this.addMembers(room, packet.all(3));
    const event: EventDraft = {
      type: 'leave',
      subtype: packet.service === Service.CONF_DECLINE ? 'conference-decline' : 'conference',
      localId: local,
      remoteId: room,
      conversation: room,
      data: this.membersData(room),
    };
    const text = packet.first(14);
    if (text !== undefined && text !== '') event.text = text;
    this.conferences.delete(room);
    return { events: [event] };
  }

  /** CONFMSG (0x1D): outgoing lists the recipients in key 53; incoming names the sender in key 3. */
  private conferenceMessage(direction: Direction, packet: YmsgPacket): PacketOutcome {
    const room = this.room(packet);
    const textPair = packet.pairs.find((p) => p.key === 14);
    if (room === undefined || textPair === undefined) return {};
    const utf8 = packet.first(97) === '1';
    let local: string;
    let data: EventData;
    if (direction === 'outgoing') {
      local = packet.firstOf(1) ?? this.local;
      this.addMembers(room, packet.all(53));
      data = this.membersData(room);
    } else {
      local = packet.firstOf(1, 5) ?? this.local;
      const from = packet.first(3) ?? UNKNOWN_ID;
      this.addMembers(room, [from]);
      data = { from, ...this.membersData(room) };
    }
    const event: EventDraft = {
      type: 'message',
      subtype: 'conference',
      localId: local,
      remoteId: room,
      conversation: room,
      text: decodeText(packet.valueBytes(textPair), utf8),
      data,
    };
    const outcome: PacketOutcome = { events: [event] };
    if (packet.bodyError === undefined) outcome.rewrite = (text) => rewriteText(packet, textPair, utf8, text);
    return outcome;
  }
}

function withSize(name: string, size: string | undefined): { name: string; size?: number } {
  const n = size !== undefined && /^\d{1,15}$/.test(size.trim()) ? Number(size.trim()) : undefined;
  return n === undefined ? { name } : { name, size: n };
}

function nameFromUrl(url: string): string | undefined {
  const path = url.split('?')[0] ?? '';
  const name = path.slice(path.lastIndexOf('/') + 1);
  try {
    return name === '' ? undefined : decodeURIComponent(name);
  } catch {
    return name;
  }
}
