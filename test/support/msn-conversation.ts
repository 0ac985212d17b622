/**
 * One MSN conversation, the same over TCP 1863 and over the HTTP gateway, for the end-to-end tests that compare
 * what imspect logs for each: sign-in through the dispatch server to the notification server, a switchboard
 * with bob (who answers directly), typing, a plain message, one a word list masks, one it blocks, a file offer a
 * policy blocks, bob's answer, bob leaving, sign-out. Runs in the test process and in a network-namespace
 * process alike (only Node built-ins and the scripted peers).
 */
import { TEXT_HEAD, fileInvite } from './msn-messages.js';
import { addressOf, connectMsn, type MsnConnection, type Received } from './msn-servers.js';
import { connectMsnHttp, type GatewayAddress, type GatewayRoute, type MsnHttpConnection } from './msn-http.js';

export type MsnClient = MsnConnection | MsnHttpConnection;

/** How a client reaches MSN servers: directly or through a SOCKS5 proxy over TCP, or through the HTTP gateway. */
export interface MsnTransport {
  label: string;
  open(kind: 'NS' | 'SB', host: string, port: number): Promise<MsnClient>;
}

export function tcpTransport(socks?: { host: string; port: number }): MsnTransport {
  return { label: socks ? 'tcp via socks5' : 'tcp', open: (_kind, host, port) => connectMsn(host, port, socks) };
}

export function httpTransport(route: GatewayRoute, gateway: GatewayAddress): MsnTransport {
  return { label: `http ${route.kind}`, open: async (kind, host, port) => connectMsnHttp(route, gateway, kind, `${host}:${port}`) };
}

/** Dispatch, then the notification server: VER, CVR, Tweener USR, CHG. */
export async function login(email: string, version: string, transport: MsnTransport, dispatch: { host: string; port: number }): Promise<MsnClient> {
  const first = await transport.open('NS', dispatch.host, dispatch.port);
  first.send('VER', 'MSNP8 CVR0');
  await first.command('VER');
  first.send('CVR', `0x0409 winnt 5.1 i386 MSNMSGR ${version} MSMSGS ${email}`);
  await first.command('CVR');
  first.send('USR', `TWN I ${email}`);
  const xfr = await first.command('XFR');
  first.end();
  const nsAddress = addressOf(xfr.words[3]!);
  const ns = await transport.open('NS', nsAddress.host, nsAddress.port);
  ns.send('VER', 'MSNP8 CVR0');
  await ns.command('VER');
  ns.send('CVR', `0x0409 winnt 5.1 i386 MSNMSGR ${version} MSMSGS ${email}`);
  await ns.command('CVR');
  ns.send('USR', `TWN I ${email}`);
  await ns.command('USR');
  ns.send('USR', 'TWN S t=ticket&p=profile');
  const ok = await ns.command('USR');
  if (ok.words[2] !== 'OK') throw new Error(`login refused: ${ok.words.join(' ')}`);
  ns.send('CHG', 'NLN 0');
  await ns.command('CHG');
  return ns;
}

export interface Message {
  sender: string;
  name: string;
  /** The length on the MSG line, and the bytes that followed it. */
  length: number;
  bytes: number;
  body: string;
}

export function asMessage(r: Received): Message {
  const raw = r.payload!.toString('utf8');
  return { sender: r.words[1]!, name: r.words[2]!, length: Number(r.words[3]), bytes: r.payload!.length, body: raw.slice(raw.indexOf('\r\n\r\n') + 4) };
}

export async function message(connection: MsnClient, match: (body: string) => boolean, what: string): Promise<Message> {
  const r = await connection.next((x) => x.words[0] === 'MSG' && x.payload !== undefined && match(asMessage(x).body), what);
  return asMessage(r);
}

/** Every MSG body a connection has received and not yet taken. */
export const bodies = (c: MsnClient) => c.inbox.filter((r) => r.words[0] === 'MSG' && r.payload).map((r) => asMessage(r).body);

export const NOTICE = 'Your activities are being logged';
export const BLOCKED = (category: string, what: string) => `Blocked (${category}): ${what}`;

/** What the conversation saw, for the test to check. */
export interface ConversationResult {
  notice: Message;
  masked: Message;
  reply: Message;
  fileReply: Message;
  fromBob: Message;
  /** Every MSG body bob's switchboard received. */
  atBob: string[];
}

/**
 * The conversation: `me` (through `transport`) opens a switchboard from `ns` and invites `bob`, whose own
 * notification-server connection is `bobNs` (he answers over `bobTransport`). The filters are expected to mask
 * "darn", block "darn and heck" and block file offers.
 */
export async function converse(
  me: string,
  ns: MsnClient,
  transport: MsnTransport,
  bob: string,
  bobNs: MsnClient,
  bobTransport: MsnTransport,
  label: string,
): Promise<ConversationResult> {
  ns.send('XFR', 'SB');
  const xfr = await ns.command('XFR');
  const address = addressOf(xfr.words[3]!);
  const sb = await transport.open('SB', address.host, address.port);
  sb.send('USR', `${me} ${xfr.words[5]}`);
  const usr = await sb.command('USR');
  if (usr.words[2] !== 'OK') throw new Error(`switchboard refused: ${usr.words.join(' ')}`);
  sb.send('CAL', bob);
  await sb.command('CAL');
  const rng = await bobNs.command('RNG');
  const rngAddress = addressOf(rng.words[2]!);
  const bobSb = await bobTransport.open('SB', rngAddress.host, rngAddress.port);
  bobSb.send('ANS', `${bob} ${rng.words[4]} ${rng.words[1]}`);
  await bobSb.command('ANS');
  await sb.command('JOI');
  const notice = await message(sb, (b) => b === NOTICE, 'the monitoring notice');
  // Typing and a message in one go (over HTTP, one request body with both commands).
  sb.sendMessage('U', `MIME-Version: 1.0\r\nContent-Type: text/x-msmsgscontrol\r\nTypingUser: ${me}\r\n\r\n\r\n`);
  sb.sendMessage('N', `${TEXT_HEAD}hello ${label}`);
  const plain = await message(bobSb, (b) => b === `hello ${label}`, 'the plain message at bob');
  sb.sendMessage('N', `${TEXT_HEAD}oh DARN it`);
  const masked = await message(bobSb, (b) => b.includes(' it'), 'the masked message at bob');
  sb.sendMessage('A', `${TEXT_HEAD}darn and heck`);
  const reply = await message(sb, (b) => b.startsWith('Blocked (2 badwords)'), 'the blocked reply');
  sb.sendMessage('D', fileInvite(bob, me, 'budget.xls'));
  const fileReply = await message(sb, (b) => b.startsWith('Blocked (policy file)'), 'the file reply');
  sb.sendMessage('N', `${TEXT_HEAD}after the offer`);
  const sentinel = await message(bobSb, (b) => b === 'after the offer', 'the sentinel at bob');
  bobSb.sendMessage('N', `${TEXT_HEAD}hi ${label}, caf\u00e9?`);
  const fromBob = await message(sb, (b) => b.startsWith('hi '), "bob's message");
  const atBob = [plain.body, masked.body, sentinel.body, ...bodies(bobSb)];
  bobSb.sendRaw('OUT\r\n');
  await bobSb.closed;
  await sb.command('BYE');
  sb.sendRaw('OUT\r\n');
  await sb.closed;
  return { notice, masked, reply, fileReply, fromBob, atBob };
}
