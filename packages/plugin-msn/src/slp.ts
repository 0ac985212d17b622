/**
 * MSNSLP session invitations inside P2P messages (`application/x-msnmsgrp2p`): what is being offered.
 *
 * The P2P binary header differs between P2P version 1 (48 bytes, MSNP9+) and version 2 (MSNP18), but the
 * SLP text of an invitation is plain ASCII in the body either way, so the invitation is found by its request
 * line, and its `Content-Length` bounds the session description.
 */
import { latin1 } from '@imspect/sdk';
import { parseHeaders } from './mime.js';

export const EUF_GUID = {
  file: '{5D3E02AB-6190-11D3-BBBB-00C04F795683}',
  /** MSNObject transfers: display pictures and custom emoticons (the Context's MSNObject `Type` tells which). */
  msnObject: '{A4268EEC-FEC5-49E5-95C3-F126696BDBF6}',
  /** Offering one's own webcam. */
  webcamPush: '{4BD96FC0-AB17-4425-A14A-439185962DC8}',
  /** Asking to see the other's webcam. */
  webcamPull: '{1C9AA97E-9C05-4583-A3BD-908A196F1E92}',
} as const;

export interface SlpInvite {
  /** `file`, `webcam`, `emoticon`, `display-picture`, or `other` with the GUID. */
  kind: 'file' | 'webcam' | 'emoticon' | 'display-picture' | 'other';
  guid: string;
  to?: string;
  from?: string;
  sessionId?: string;
  appId?: string;
  /** Base64 Context as sent. */
  context?: string;
  file?: { name: string; size: number };
  /** For webcam: `push` (offers own) or `pull` (asks to view). */
  direction?: 'push' | 'pull';
  /** For MSNObject transfers: the object's `Friendly` name or `Location`. */
  object?: string;
}

const INVITE = 'INVITE MSNMSGR:';

/** Finds and reads an MSNSLP INVITE in a P2P payload; undefined when there is none (data, ACKs, BYE ...). */
export function findSlpInvite(p2p: Uint8Array): SlpInvite | undefined {
  // The request line is ASCII; searching the latin1 text keeps byte offsets.
  const text = latin1(p2p);
  const at = text.indexOf(INVITE);
  if (at < 0) return undefined;
  const lineEnd = text.indexOf('\n', at);
  if (lineEnd < 0) return undefined;
  const slp = parseHeaders(p2p, lineEnd + 1);
  if (!slp.complete) return undefined;
  const length = Number(slp.headers.get('content-length') ?? '');
  // An invitation split over several P2P chunks is read once it is whole (see P2pReassembly), never in part.
  if (Number.isSafeInteger(length) && length >= 0 && slp.bodyOffset + length > p2p.byteLength) return undefined;
  const end = Number.isSafeInteger(length) && length >= 0 ? slp.bodyOffset + length : p2p.byteLength;
  const body = parseHeaders(p2p.subarray(0, end), slp.bodyOffset);
  const guid = (body.headers.get('euf-guid') ?? '').toUpperCase();
  if (guid === '') return undefined;
  const invite: SlpInvite = { kind: 'other', guid };
  const to = angle(slp.headers.get('to'));
  const from = angle(slp.headers.get('from'));
  if (to !== undefined) invite.to = to;
  if (from !== undefined) invite.from = from;
  const sessionId = body.headers.get('sessionid');
  const appId = body.headers.get('appid');
  const context = body.headers.get('context');
  if (sessionId !== undefined) invite.sessionId = sessionId;
  if (appId !== undefined) invite.appId = appId;
  if (context !== undefined) invite.context = context;
  if (guid === EUF_GUID.file) {
    invite.kind = 'file';
    const file = context === undefined ? undefined : decodeFileContext(context);
    if (file) invite.file = file;
  } else if (guid === EUF_GUID.webcamPush || guid === EUF_GUID.webcamPull) {
    invite.kind = 'webcam';
    invite.direction = guid === EUF_GUID.webcamPush ? 'push' : 'pull';
  } else if (guid === EUF_GUID.msnObject) {
    const object = context === undefined ? undefined : decodeMsnObject(context);
    invite.kind = object?.type === '2' ? 'emoticon' : 'display-picture';
    const name = object?.friendly ?? object?.location;
    if (name !== undefined) invite.object = name;
  }
  return invite;
}

/** `<msnmsgr:bob@example.com;{guid}>` -> `bob@example.com;{guid}`. */
function angle(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const m = /<msnmsgr:([^>]*)>/i.exec(value);
  return m ? m[1]! : undefined;
}

/**
 * The file transfer Context: u32 header length, u32 version, u64 file size (little-endian) at offset 8,
 * u32 type at 16, the file name in UTF-16LE (260 characters, NUL-terminated) at offset 20, then a preview.
 */
export function decodeFileContext(base64: string): { name: string; size: number } | undefined {
  const bytes = Buffer.from(base64, 'base64');
  if (bytes.byteLength < 22) return undefined;
  const size = Number(bytes.readBigUInt64LE(8));
  const nameEnd = Math.min(bytes.byteLength, 20 + 520);
  let end = 20;
  while (end + 1 < nameEnd && (bytes[end] !== 0 || bytes[end + 1] !== 0)) end += 2;
  const name = bytes.subarray(20, end).toString('utf16le');
  if (name.length === 0) return undefined;
  return { name, size };
}

/** The MSNObject XML of a Context: `<msnobj Creator=".." Size=".." Type="3" Location=".." Friendly="base64"/>`. */
export function decodeMsnObject(base64: string): { type?: string; location?: string; friendly?: string } | undefined {
  const xml = Buffer.from(base64, 'base64').toString('utf8');
  if (!xml.includes('<msnobj')) return undefined;
  const attr = (name: string) => new RegExp(`\\b${name}="([^"]*)"`).exec(xml)?.[1];
  const out: { type?: string; location?: string; friendly?: string } = {};
  const type = attr('Type');
  const location = attr('Location');
  const friendly = attr('Friendly');
  if (type !== undefined) out.type = type;
  if (location !== undefined) out.location = location;
  if (friendly !== undefined && friendly !== 'AAA=') {
    const decoded = Buffer.from(friendly, 'base64').toString('utf16le').replace(/\0+$/, '');
    if (decoded.length > 0) out.friendly = decoded;
  }
  return out;
}

/** The fields of a P2P version 1 binary header (48 bytes, little-endian) that place a chunk in its message. */
export interface P2pChunk {
  /** 0 for MSNSLP signalling; the data of an established session (file contents, pictures) has its id. */
  sessionId: number;
  /** Message id: the chunks of one message share it. */
  id: number;
  offset: number;
  total: number;
  data: Uint8Array;
}

const P2P_HEADER = 48;
const P2P_FOOTER = 4;

/**
 * Reads a P2P version 1 chunk: header, `length` bytes of data, 4-byte footer. Undefined when the bytes do not
 * make a consistent version 1 header (a version 2 header, or garbage).
 */
export function p2pChunk(body: Uint8Array): P2pChunk | undefined {
  if (body.byteLength < P2P_HEADER) return undefined;
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const offset = Number(view.getBigUint64(8, true));
  const total = Number(view.getBigUint64(16, true));
  const length = view.getUint32(24, true);
  if (length === 0 || P2P_HEADER + length > body.byteLength || body.byteLength - P2P_HEADER - length > P2P_FOOTER) return undefined;
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(total) || offset + length > total) return undefined;
  return { sessionId: view.getUint32(0, true), id: view.getUint32(4, true), offset, total, data: body.subarray(P2P_HEADER, P2P_HEADER + length) };
}

/** Largest SLP message put back together from chunks; file data messages are far larger and never collected. */
const MAX_SLP_BYTES = 64 * 1024;
/** Messages being collected at once, per session. */
const MAX_PENDING = 16;

/**
 * Puts SLP messages split over several P2P chunks back together (an invitation with a file Context is often
 * larger than one 1202-byte chunk). Only messages whose first chunk starts with an SLP request are collected.
 */
export class P2pReassembly {
  private readonly pending = new Map<string, { total: number; bytes: Uint8Array; received: number }>();

  /** The whole SLP message once its last chunk arrived, the chunk itself when it is whole, else undefined. */
  add(key: string, chunk: P2pChunk): Uint8Array | undefined {
    if (chunk.offset === 0 && chunk.data.byteLength === chunk.total) return chunk.data;
    const id = `${key}:${chunk.id}`;
    let entry = this.pending.get(id);
    if (!entry) {
      if (chunk.offset !== 0 || chunk.total > MAX_SLP_BYTES || !startsWithSlp(chunk.data)) return undefined;
      if (this.pending.size >= MAX_PENDING) this.pending.delete(this.pending.keys().next().value!);
      entry = { total: chunk.total, bytes: new Uint8Array(chunk.total), received: 0 };
      this.pending.set(id, entry);
    }
    if (chunk.total !== entry.total) {
      this.pending.delete(id);
      return undefined;
    }
    entry.bytes.set(chunk.data, chunk.offset);
    entry.received += chunk.data.byteLength;
    if (entry.received < entry.total) return undefined;
    this.pending.delete(id);
    return entry.bytes;
  }
}

function startsWithSlp(data: Uint8Array): boolean {
  const head = latin1(data.subarray(0, 16));
  return head.startsWith('INVITE ') || head.startsWith('MSNSLP/1.0') || head.startsWith('BYE ') || head.startsWith('ACK ');
}
