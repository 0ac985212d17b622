/**
 * `GgState`: what one Gadu-Gadu connection has said so far (the local GG number, how the client logged in,
 * whether the server accepted it) and the events, rewrites and refusals each packet carries.
 *
 * Ids are GG numbers (uins) as decimal strings. Outgoing packets name the other party (recipient); incoming ones
 * name the sender; the local user is named by the login (and the 11.0 login answer), or, in a connection joined
 * after it, by a DCC7 offer.
 */
import { presenceData, utf8, type Direction, type EventDraft } from '@imspect/sdk';
import { decodeCp1250 } from './cp1250.js';
import { buildAck110, buildDcc7Reject, buildRecvAck, buildSendAckBlocked, rewriteMessage } from './encoder.js';
import { withData, type EventDataPairs } from './event-data.js';
import { decodeLogin, isLoginType, type LoginInfo } from './login.js';
import { decodeMessage80, decodeMessage110, decodeOldMessage, type GgMessage } from './messages.js';
import type { GgPacket } from './packet.js';
import { DCC7_NEW_BYTES, In, Out } from './packet-types.js';
import { decodeProtobuf, pbBytes, readPbUin } from './protobuf.js';
import { CONTACT_STATUS_TYPES, decodeContactStatuses } from './notify.js';
import { isOffline, statusCode, statusName } from './status.js';
import { readCompressedList, readTextList, Userlist100ReplyType, Userlist100Type, UserlistReplyType, UserlistType, type ContactList } from './userlist.js';

/** The local id before the connection has named it. */
export const UNKNOWN_ID = '*';
/** LOGIN80 `features` bit: the client reads GG_RECV_MSG80. */
const FEATURE_MSG80 = 0x02;
/** GG_SEND_MSG_ACK statuses that mean the message did not get through. */
const ACK_FAILURES = new Map<number, string>([
  [0x01, 'blocked'],
  [0x04, 'mailbox-full'],
  [0x06, 'not-delivered'],
]);
/** Message class of a client-to-client request (a DCC 6 connection), not a message. */
const CLASS_CTCP = 0x10;
/** DCC7 transfer types. */
const DCC7_VOICE = 1;
const DCC7_FILE = 4;

export interface PacketOutcome {
  events?: EventDraft[];
  rewrite?: (text: string) => Uint8Array;
  refusal?: () => Uint8Array | undefined;
  /** What was wrong with the packet's body; its events are still given. */
  error?: string;
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** Text of a field that is UTF-8 in newer clients and CP1250 in older ones. */
function decodeEither(bytes: Uint8Array): string {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    return decodeCp1250(bytes);
  }
}

export class GgState {
  localId: string | undefined;
  private login: LoginInfo | undefined;
  private loggedIn = false;
  private loggedOut = false;
  /** The client reads GG_RECV_MSG80 (its 8.0 login said so, or it logged in with 10.5+). */
  msg80Client = false;

  constructor(private readonly serverName: string) {}

  get isLoggedIn(): boolean {
    return this.loggedIn;
  }

  private get local(): string {
    return this.localId ?? UNKNOWN_ID;
  }

  handle(direction: Direction, packet: GgPacket): PacketOutcome {
    return direction === 'outgoing' ? this.outgoing(packet) : this.incoming(packet);
  }

  private outgoing(packet: GgPacket): PacketOutcome {
    const type = packet.type;
    if (isLoginType(type)) return this.clientLogin(packet);
    switch (type) {
      case Out.SEND_MSG:
        return this.message('outgoing', packet, decodeOldMessage(packet, false));
      case Out.SEND_MSG80:
        return this.message('outgoing', packet, decodeMessage80(packet, false));
      case Out.SEND_MSG110:
      case Out.CHAT_SEND_MSG:
        return this.message('outgoing', packet, decodeMessage110(packet));
      case Out.TYPING_NOTIFY:
        return this.typing(packet);
      case Out.NEW_STATUS:
      case Out.NEW_STATUS80BETA:
        return this.status(packet.u32(0), this.nulText(packet, 4));
      case Out.NEW_STATUS80:
      case Out.NEW_STATUS105:
        return this.status80(packet);
      case Out.ADD_NOTIFY:
      case Out.REMOVE_NOTIFY:
        return this.contactChange(type === Out.ADD_NOTIFY ? 'add' : 'remove', packet.uin(0), packet.u8(4));
      case Out.ADD_NOTIFY105:
      case Out.REMOVE_NOTIFY105:
        return this.contactChange105(type === Out.ADD_NOTIFY105 ? 'add' : 'remove', packet);
      case Out.NOTIFY_FIRST:
      case Out.NOTIFY_LAST:
        return this.notifyList(packet);
      case Out.NOTIFY105_FIRST:
      case Out.NOTIFY105_LAST:
        return this.notifyList105(packet);
      case Out.USERLIST_REQUEST:
        return this.userlistRequest(packet);
      case Out.USERLIST100_REQUEST:
        return this.userlist100Request(packet);
      case Out.DCC7_NEW:
        return this.dcc7Offer('outgoing', packet);
      default:
        return {};
    }
  }

  private incoming(packet: GgPacket): PacketOutcome {
    if (CONTACT_STATUS_TYPES.has(packet.type)) return this.contactStatuses(packet);
    switch (packet.type) {
      case In.LOGIN_OK:
      case In.LOGIN80_OK:
        return this.loginAccepted(undefined);
      case In.LOGIN110_OK:
        return this.loginAccepted(readPbUin(pbBytes(packet.body, decodeProtobuf(packet.body), 3)));
      case In.LOGIN_FAILED:
      case In.LOGIN80_FAILED:
      case In.LOGIN_HASH_TYPE_INVALID:
        return this.loginRefused(packet.type);
      case In.RECV_MSG:
        return this.message('incoming', packet, decodeOldMessage(packet, true));
      case In.RECV_MSG80:
        return this.message('incoming', packet, decodeMessage80(packet, true));
      case In.RECV_OWN_MSG:
        return this.message('outgoing', packet, decodeMessage80(packet, true), true);
      case In.RECV_MSG110:
      case In.CHAT_RECV_MSG:
        return this.message('incoming', packet, decodeMessage110(packet));
      case In.RECV_OWN_MSG110:
      case In.CHAT_RECV_OWN_MSG:
        return this.message('outgoing', packet, decodeMessage110(packet), true);
      case In.SEND_MSG_ACK:
        return this.sendAck(packet);
      case In.TYPING_NOTIFY:
        return this.typing(packet);
      case In.USERLIST_REPLY:
        return this.userlistReply(packet);
      case In.USERLIST100_REPLY:
        return this.userlist100Reply(packet);
      case In.DCC7_NEW:
        return this.dcc7Offer('incoming', packet);
      case In.DISCONNECTING:
        return this.logout(undefined);
      default:
        return {};
    }
  }

  /** A login packet: the client says who it is and what it runs; reported at once so a policy can deny it here. */
  private clientLogin(packet: GgPacket): PacketOutcome {
    const info = decodeLogin(packet);
    if (info === undefined) return { error: 'login packet too short to name the user' };
    this.login = info;
    this.localId = info.uin;
    const features = packet.type === Out.LOGIN80 || packet.type === Out.LOGIN80BETA ? packet.u32(79) : undefined;
    this.msg80Client = packet.type === Out.LOGIN105 || (features !== undefined && (features & FEATURE_MSG80) !== 0);
    const event = withData({ type: 'other', subtype: 'client', localId: info.uin, remoteId: this.serverName }, this.clientData());
    const outcome: PacketOutcome = { events: [event] };
    if (info.error !== undefined) outcome.error = info.error;
    return outcome;
  }

  /** `{ client: 'Gadu-Gadu Client', version: '8.0.0.10102', 'protocol-version': 'GG_LOGIN80', status: 'online' }`. */
  private clientData(): EventDataPairs {
    const info = this.login;
    if (info === undefined) return {};
    const pairs: EventDataPairs = {};
    if (info.client !== undefined) pairs.client = info.client;
    if (info.version !== undefined) pairs.version = info.version;
    pairs['protocol-version'] = info.protocol !== undefined ? `0x${info.protocol.toString(16).padStart(2, '0')}` : info.packet;
    if (info.status !== undefined) pairs.status = statusName(info.status);
    if (info.description !== undefined) pairs.description = info.description;
    return pairs;
  }

  private loginAccepted(uin: string | undefined): PacketOutcome {
    if (uin !== undefined && this.localId === undefined) this.localId = uin;
    if (this.loggedIn) return {};
    this.loggedIn = true;
    return { events: [withData({ type: 'login', localId: this.local, remoteId: this.serverName }, this.clientData())] };
  }

  private loginRefused(type: number): PacketOutcome {
    const reason = type === In.LOGIN_HASH_TYPE_INVALID ? 'hash-type-invalid' : 'refused';
    return { events: [withData({ type: 'other', subtype: 'login-failed', localId: this.local, remoteId: this.serverName }, { reason })] };
  }

  private logout(description: string | undefined): PacketOutcome {
    if (this.loggedOut) return {};
    this.loggedOut = true;
    const event: EventDraft = { type: 'logout', localId: this.local, remoteId: this.serverName };
    if (description !== undefined && description !== '') event.text = description;
    return { events: [event] };
  }

  private nulText(packet: GgPacket, from: number): string | undefined {
    if (packet.body.length <= from) return undefined;
    return decodeEither(packet.bytes(from, packet.nul(from)));
  }

  /** The local user's new status; going offline is the logout. */
  private status(status: number | undefined, description: string | undefined): PacketOutcome {
    if (status === undefined) return { error: 'status packet too short' };
    if (isOffline(status)) return this.logout(description);
    const data = presenceData({ status: statusName(status), 'protocol-status': statusCode(status), ...(description !== undefined ? { description } : {}) });
    return { events: [{ type: 'other', subtype: 'status', localId: this.local, remoteId: this.serverName, data }] };
  }

  /** GG_STATUS*, GG_NOTIFY_REPLY*: contacts' statuses, one presence event each (the records before a damaged one count). */
  private contactStatuses(packet: GgPacket): PacketOutcome {
    const decoded = decodeContactStatuses(packet);
    const events: EventDraft[] = decoded.statuses.map((entry) => {
      const description = entry.description === undefined ? undefined : decodeEither(entry.description).replace(/\0+$/, '');
      const data = presenceData({ status: statusName(entry.status), 'protocol-status': statusCode(entry.status), ...(description !== undefined ? { description } : {}) });
      return { type: 'contact', subtype: 'status', localId: this.local, remoteId: entry.uin, data };
    });
    const outcome: PacketOutcome = events.length > 0 ? { events } : {};
    if (decoded.error !== undefined) outcome.error = decoded.error;
    return outcome;
  }

  /** GG_NEW_STATUS80: status, flags, description length, description (UTF-8, maybe NUL-terminated). */
  private status80(packet: GgPacket): PacketOutcome {
    const length = packet.u32(8);
    if (length === undefined) return { error: 'status packet too short' };
    const end = 12 + length;
    const outcome = this.status(packet.u32(0), utf8(packet.bytes(12, end)).replace(/\0+$/, ''));
    if (end > packet.body.length) outcome.error = 'status description past the end of the packet';
    return outcome;
  }

  private message(direction: Direction, packet: GgPacket, message: GgMessage | undefined, ownCopy = false): PacketOutcome {
    if (message === undefined) return { error: 'message packet too short for its fixed fields' };
    // Class CTCP: not text for a person but a request for a direct (DCC 6) connection.
    if (message.format !== 'msg110' && (message.msgClass & CLASS_CTCP) !== 0) {
      return { events: [{ type: 'other', subtype: 'dcc-request', localId: this.local, remoteId: message.peer ?? UNKNOWN_ID }] };
    }
    const remote = message.chatId ?? message.peer ?? UNKNOWN_ID;
    const base = { localId: this.local, remoteId: remote, ...(ownCopy ? { direction: 'outgoing' as const } : {}) };
    const pairs: EventDataPairs = {};
    let conversation: string | undefined;
    let subtype: string | undefined;
    if (message.chatId !== undefined) {
      subtype = 'conference';
      conversation = message.chatId;
      pairs.groupchat = true;
    } else if (message.attributes.recipients.length > 0) {
      subtype = 'conference';
      const people = new Set([message.peer, ...message.attributes.recipients, this.localId].filter((x): x is string => x !== undefined && x !== '0'));
      conversation = [...people].sort((a, b) => Number(a) - Number(b)).join(',');
      // A conference is a group conversation, though each packet names one recipient as `remoteId`.
      pairs.groupchat = true;
      pairs.recipients = message.attributes.recipients.join(',');
    }
    if (ownCopy) pairs.copy = 'sent-elsewhere';
    if (message.htmlSource !== undefined) pairs.html = message.htmlSource;
    const events: EventDraft[] = [];
    const hasText = message.text !== '';
    if (hasText) {
      const event: EventDraft = { type: 'message', ...base, text: message.text };
      if (subtype !== undefined) event.subtype = subtype;
      if (conversation !== undefined) event.conversation = conversation;
      events.push(withData(event, pairs));
    }
    const { imageRequest, image } = message.attributes;
    if (imageRequest !== undefined) {
      events.push(withData({ type: 'other', subtype: 'image-request', ...base }, { size: imageRequest.size, crc32: imageRequest.crc32.toString(16).padStart(8, '0') }));
    }
    if (image !== undefined && !image.more) {
      events.push(withData({ type: 'file', subtype: 'image', ...base, file: { name: image.name ?? '', size: image.size } }, { crc32: image.crc32.toString(16).padStart(8, '0') }));
    }
    const outcome: PacketOutcome = {};
    if (events.length > 0) outcome.events = events;
    if (message.error !== undefined) outcome.error = message.error;
    // A message frame with exactly its text event can be rewritten; one with an image is left as it is.
    if (hasText && events.length === 1 && message.error === undefined) outcome.rewrite = (text) => rewriteMessage(packet, message, text);
    if (hasText && message.chatId === undefined && !ownCopy) outcome.refusal = () => this.messageRefusal(direction, message);
    return outcome;
  }

  /**
   * A blocked message: the local client is told its message was blocked (GG_SEND_MSG_ACK), or, for a message
   * to the local user, the server gets the acknowledgement the client would have sent (GG_RECV_MSG_ACK,
   * GG_ACK110), so it does not resend. Group chat messages have none.
   */
  private messageRefusal(direction: Direction, message: GgMessage): Uint8Array | undefined {
    if (direction === 'incoming') return message.format === 'msg110' ? buildAck110(message.seq) : buildRecvAck(message.seq);
    // 11.0 clients read the older GG_SEND_MSG_ACK too (libgadu reports it as GG_ACK_BLOCKED).
    const recipient = Number(message.peer);
    return Number.isInteger(recipient) ? buildSendAckBlocked(recipient, message.seq) : undefined;
  }

  private sendAck(packet: GgPacket): PacketOutcome {
    const status = packet.u32(0);
    const recipient = packet.uin(4);
    if (status === undefined || recipient === undefined) return {};
    const failure = ACK_FAILURES.get(status);
    if (failure === undefined) return {};
    return { events: [withData({ type: 'other', subtype: 'message-not-delivered', localId: this.local, remoteId: recipient }, { reason: failure })] };
  }

  /** GG_TYPING_NOTIFY: the number of characters typed (0: stopped), then the uin of the other party. */
  private typing(packet: GgPacket): PacketOutcome {
    const length = packet.u16(0);
    const uin = packet.uin(2);
    if (length === undefined || uin === undefined) return { error: 'typing notification too short' };
    const event = withData({ type: 'typing', subtype: length === 0 ? 'done' : 'active', localId: this.local, remoteId: uin }, { length });
    return { events: [event] };
  }

  private contactChange(subtype: 'add' | 'remove', uin: string | undefined, kind: number | undefined): PacketOutcome {
    if (uin === undefined) return { error: 'contact packet too short' };
    return { events: [withData({ type: 'contact', subtype, localId: this.local, remoteId: uin }, kind === undefined ? {} : { kind: contactKind(kind) })] };
  }

  /** 10.5 contact packets: the uin as (0, length, digits), then the kind byte. */
  private contactChange105(subtype: 'add' | 'remove', packet: GgPacket): PacketOutcome {
    const read = readListUin(packet.body, 0);
    if (read === undefined) return { error: 'contact packet without a readable number' };
    return this.contactChange(subtype, read.uin, packet.u8(read.next));
  }

  /** GG_NOTIFY_FIRST / GG_NOTIFY_LAST: (uin u32, kind u8) entries: the contact list sent at login. */
  private notifyList(packet: GgPacket): PacketOutcome {
    const uins: string[] = [];
    for (let at = 0; at + 5 <= packet.body.length; at += 5) uins.push(packet.uin(at)!);
    const outcome = this.listEvent(uins);
    if (packet.body.length % 5 !== 0) outcome.error = 'notify list with a partial entry';
    return outcome;
  }

  private notifyList105(packet: GgPacket): PacketOutcome {
    const uins: string[] = [];
    let at = 0;
    while (at < packet.body.length) {
      const read = readListUin(packet.body, at);
      if (read === undefined) break;
      uins.push(read.uin);
      at = read.next + 1;
    }
    const outcome = this.listEvent(uins);
    if (at < packet.body.length) outcome.error = 'notify list with an unreadable entry';
    return outcome;
  }

  /** `contacts` is a count on every protocol; the uins themselves go under `ids`. */
  private listEvent(uins: string[]): PacketOutcome {
    if (uins.length === 0) return {};
    return { events: [withData({ type: 'contact', subtype: 'list', localId: this.local, remoteId: this.serverName }, { contacts: uins.length, ids: uins.join(',') })] };
  }

  private listEventOf(subtype: 'export' | 'import', list: ContactList, part: string): PacketOutcome {
    const event = withData({ type: 'contact', subtype, localId: this.local, remoteId: this.serverName }, { contacts: list.contacts, part });
    if (list.text !== '') event.text = list.text;
    const outcome: PacketOutcome = { events: [event] };
    if (list.error !== undefined) outcome.error = list.error;
    return outcome;
  }

  private userlistRequest(packet: GgPacket): PacketOutcome {
    const type = packet.u8(0);
    if (type !== UserlistType.PUT && type !== UserlistType.PUT_MORE) return {};
    // An empty continuation says nothing (an empty first part is an emptied list, and is reported).
    if (type === UserlistType.PUT_MORE && packet.body.length <= 1) return {};
    return this.listEventOf('export', readTextList(packet.bytes(1, packet.body.length)), type === UserlistType.PUT ? 'first' : 'more');
  }

  private userlistReply(packet: GgPacket): PacketOutcome {
    const type = packet.u8(0);
    if (type !== UserlistReplyType.GET_REPLY && type !== UserlistReplyType.GET_MORE_REPLY) return {};
    if (type === UserlistReplyType.GET_MORE_REPLY && packet.body.length <= 1) return {};
    return this.listEventOf('import', readTextList(packet.bytes(1, packet.body.length)), type === UserlistReplyType.GET_REPLY ? 'last' : 'more');
  }

  /** GG_USERLIST100_REQUEST: type, version u32, format, a byte, compressed list. */
  private userlist100Request(packet: GgPacket): PacketOutcome {
    if (packet.u8(0) !== Userlist100Type.PUT) return {};
    return this.listEventOf('export', readCompressedList(packet.bytes(7, packet.body.length)), 'all');
  }

  private userlist100Reply(packet: GgPacket): PacketOutcome {
    if (packet.u8(0) !== Userlist100ReplyType.LIST) return {};
    return this.listEventOf('import', readCompressedList(packet.bytes(7, packet.body.length)), 'all');
  }

  /**
   * GG_DCC7_NEW: id (8 bytes), sender, recipient, type (4 file, 1 voice), file name (255 bytes, NUL-padded), size
   * (u32 + u32 high), SHA-1. A blocked offer is answered with GG_DCC7_REJECT, so the sender's client stops
   * waiting at once.
   */
  private dcc7Offer(direction: Direction, packet: GgPacket): PacketOutcome {
    if (packet.body.length < DCC7_NEW_BYTES) return { error: 'DCC7 offer too short' };
    const id = packet.bytes(0, 8);
    const from = packet.u32(8)!;
    const to = packet.u32(12)!;
    const kind = packet.u32(16)!;
    const remote = String(direction === 'outgoing' ? to : from);
    // The offer names both parties: a connection joined after its login learns the local user here.
    const local = String(direction === 'outgoing' ? from : to);
    if (this.localId === undefined && local !== '0') this.localId = local;
    const idHex = [...id].map((b) => b.toString(16).padStart(2, '0')).join('');
    const base = { localId: this.local, remoteId: remote };
    const refusal = () => buildDcc7Reject(direction === 'outgoing' ? to : from, id.slice());
    if (kind === DCC7_VOICE) return { events: [withData({ type: 'other', subtype: 'voice-call', ...base }, { transfer: idHex })], refusal };
    if (kind !== DCC7_FILE) return {};
    const nameEnd = packet.nul(20);
    const name = decodeEither(packet.bytes(20, Math.min(nameEnd, 20 + 255)));
    const size = packet.u32(275)! + packet.u32(279)! * 2 ** 32;
    const hash = [...packet.bytes(283, 303)].map((b) => b.toString(16).padStart(2, '0')).join('');
    return { events: [withData({ type: 'file', subtype: 'dcc7', ...base, file: { name, size } }, { transfer: idHex, sha1: hash })], refusal };
  }
}

function contactKind(kind: number): string {
  if (kind & 0x04) return 'blocked';
  if (kind & 0x01 && !(kind & 0x02)) return 'offline';
  return 'normal';
}

/** A uin as the 10.5 lists write it: 0x00, the length, the digits. */
function readListUin(body: Uint8Array, at: number): { uin: string; next: number } | undefined {
  const length = body[at + 1];
  if (body[at] !== 0 || length === undefined || length === 0 || length > 10 || at + 2 + length > body.length) return undefined;
  const uin = readPbUin(body.subarray(at, at + 2 + length));
  return uin === undefined ? undefined : { uin, next: at + 2 + length };
}
