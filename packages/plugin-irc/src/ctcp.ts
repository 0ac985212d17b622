/**
 * CTCP (`\x01COMMAND args\x01` inside PRIVMSG/NOTICE text) and the DCC offers it carries.
 */

const CTCP_DELIM = '\x01';

export interface Ctcp {
  /** Upper-cased CTCP command (`ACTION`, `DCC`, `VERSION`, ...). */
  command: string;
  /** Offsets of the arguments inside the text parameter (exclusive of the wrapping). */
  argsStart: number;
  argsEnd: number;
}

/** Recognises a CTCP message from the text parameter's bytes as Latin-1 (offsets are byte offsets). */
export function parseCtcp(raw: string): Ctcp | undefined {
  if (!raw.startsWith(CTCP_DELIM)) return undefined;
  let end = raw.indexOf(CTCP_DELIM, 1);
  if (end < 0) end = raw.length; // some clients leave the closing delimiter out
  const space = raw.indexOf(' ', 1);
  const commandEnd = space >= 0 && space < end ? space : end;
  const command = raw.slice(1, commandEnd).toUpperCase();
  if (command.length === 0) return undefined;
  const argsStart = commandEnd < end ? commandEnd + 1 : end;
  return { command, argsStart, argsEnd: end };
}

export interface DccOffer {
  /** Upper-cased DCC type: `SEND`, `CHAT`, `RESUME`, ... */
  type: string;
  /** Kind this plugin reports: a file offer, a chat offer, or anything else. */
  kind: 'send' | 'chat' | 'other';
  fileName?: string;
  size?: number;
  /** Host as the offer gives it, decoded: dotted IPv4, or an IPv6 literal. */
  host?: string;
  port?: number;
  /** Reverse ("passive") DCC token. */
  token?: string;
}

const SEND_TYPES = new Set(['SEND', 'SSEND', 'TSEND', 'TSSEND']);
const CHAT_TYPES = new Set(['CHAT', 'SCHAT']);

/** Parses the arguments of a `DCC` CTCP: `SEND filename ip port [size [token]]`, `CHAT chat ip port`. */
export function parseDcc(args: string): DccOffer | undefined {
  const trimmed = args.replace(/^ +/, '');
  const typeEnd = trimmed.indexOf(' ');
  const type = (typeEnd < 0 ? trimmed : trimmed.slice(0, typeEnd)).toUpperCase();
  if (type.length === 0) return undefined;
  const rest = typeEnd < 0 ? '' : trimmed.slice(typeEnd + 1).replace(/^ +/, '');

  if (SEND_TYPES.has(type)) {
    let fileName: string;
    let after: string[];
    if (rest.startsWith('"')) {
      const close = rest.indexOf('"', 1);
      const nameEnd = close < 0 ? rest.length : close;
      fileName = rest.slice(1, nameEnd);
      after = words(rest.slice(Math.min(rest.length, nameEnd + 1)));
    } else {
      const tokens = words(rest);
      // A name with spaces but no quotes: the address is the first "ip port" pair after the first word.
      let k = 1;
      while (k < tokens.length - 1 && !(decodeHost(tokens[k]!) && /^\d+$/.test(tokens[k + 1]!))) k++;
      if (k >= tokens.length - 1) k = Math.min(1, tokens.length);
      fileName = tokens.slice(0, k).join(' ');
      after = tokens.slice(k);
    }
    const offer: DccOffer = { type, kind: 'send', fileName };
    addAddress(offer, after[0], after[1]);
    const size = after[2];
    if (size !== undefined && /^\d{1,15}$/.test(size)) offer.size = Number(size);
    if (after[3] !== undefined) offer.token = after[3];
    return offer;
  }

  const tokens = words(rest);
  if (CHAT_TYPES.has(type)) {
    const offer: DccOffer = { type, kind: 'chat' };
    addAddress(offer, tokens[1], tokens[2]);
    if (tokens[3] !== undefined) offer.token = tokens[3];
    return offer;
  }
  return { type, kind: 'other' };
}

/** `ip:port` (IPv6 in brackets), the way a log shows a DCC address. */
export function formatAddress(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

function addAddress(offer: DccOffer, host: string | undefined, port: string | undefined): void {
  const decoded = host === undefined ? undefined : decodeHost(host);
  if (decoded !== undefined) offer.host = decoded;
  if (port !== undefined && isPort(port)) offer.port = Number(port);
}

function words(text: string): string[] {
  return text.split(' ').filter((w) => w.length > 0);
}

function isPort(text: string): boolean {
  return /^\d{1,5}$/.test(text) && Number(text) <= 65535;
}

/** DCC hosts: an unsigned 32-bit decimal IPv4 address, a dotted IPv4 address or an IPv6 literal. */
export function decodeHost(text: string): string | undefined {
  if (/^\d{1,10}$/.test(text)) {
    const n = Number(text);
    if (n > 0xffffffff) return undefined;
    return [n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff].join('.');
  }
  if (/^\d{1,3}(?:\.\d{1,3}){3}$/.test(text)) {
    return text.split('.').every((part) => Number(part) <= 255) ? text : undefined;
  }
  if (text.includes(':') && /^[0-9A-Fa-f:.]{2,45}$/.test(text)) return text;
  return undefined;
}
