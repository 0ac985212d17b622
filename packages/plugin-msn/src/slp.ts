/**
 * MSNSLP session invitations inside P2P messages (`application/x-msnmsgrp2p`): what is being offered.
 *
 * The P2P binary header differs between P2P version 1 (48 bytes, MSNP9+) and version 2 (MSNP18), but the
 * SLP text of an invitation is plain ASCII in the body either way, so the invitation is found by its request
 * line, and its `Content-Length` bounds the session description.
 */
import { latin1 } from '@imspect/core';
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
  const slp = parseHeaders(p2p, at + text.slice(at).indexOf('\n') + 1);
  if (!slp.complete) return undefined;
  const length = Number(slp.headers.get('content-length') ?? '');
  const end = Number.isFinite(length) && length >= 0 ? Math.min(p2p.byteLength, slp.bodyOffset + length) : p2p.byteLength;
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
