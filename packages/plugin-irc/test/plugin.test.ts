import { describe, expect, it } from 'vitest';
import { isPlugin } from '@imspect/sdk';
import plugin, { DEFAULT_PORTS, IrcSession } from '../src/index.js';
import { sniffIrc } from '../src/sniff.js';
import { decodeHost, parseCtcp, parseDcc } from '../src/ctcp.js';
import { splitText } from '../src/encoder.js';
import { enc, latin1, prng } from './helpers.js';

const ctx = (options: Record<string, unknown>) => ({ name: 'irc', options, hostVersion: '0.1.0', dataDir: '/tmp', configDir: '/tmp', logger: undefined as never }) as never;

describe('the plugin', () => {
  it('is a protocol plugin with IRC ports, 6697 for TLS and a 16 KiB line limit by default', async () => {
    expect(isPlugin(plugin)).toBe(true);
    expect(plugin.name).toBe('irc');
    expect(plugin.kind).toBe('protocol');
    const hooks = await plugin.setup(ctx({}));
    expect(hooks.ports).toEqual(DEFAULT_PORTS);
    expect(hooks.ports).toContain(6667);
    expect(hooks.tlsPorts).toEqual([6697]);
    expect(hooks.maxFrameSize).toBe(16384);
    const session = hooks.createSession({ client: { ip: '192.0.2.1', port: 1 }, server: { host: 'irc.example.net', port: 6667 }, maxFrameSize: 4096 });
    expect(session).toBeInstanceOf(IrcSession);
    expect((session as IrcSession).maxLineBytes).toBe(4096);
  });

  it('takes its options', async () => {
    const hooks = await plugin.setup(ctx({ maxLineBytes: 8703, ports: [6667], tlsPorts: [6697, 9999], redactPasswords: false }));
    expect(hooks.maxFrameSize).toBe(8703);
    expect(hooks.ports).toEqual([6667]);
    expect(hooks.tlsPorts).toEqual([6697, 9999]);
    const session = hooks.createSession({ client: { ip: '192.0.2.1', port: 1 }, server: { host: 'h', port: 6667 }, maxFrameSize: 8703 });
    const [frame] = session.push('outgoing', enc('PRIVMSG NickServ :IDENTIFY pw\r\n'));
    expect(frame!.events![0]!.text).toBe('IDENTIFY pw');
  });

  it('never lets the line limit fall below an RFC 1459 line', () => {
    const session = new IrcSession({ client: { ip: '192.0.2.1', port: 1 }, server: { host: 'h', port: 1 }, maxFrameSize: 10 });
    expect(session.maxLineBytes).toBe(512);
    expect(new IrcSession({ client: { ip: '', port: 1 }, server: { host: 'h', port: 1 }, maxFrameSize: Number.NaN }).maxLineBytes).toBe(16384);
  });
});

describe('sniff', () => {
  const yes = [
    'CAP LS 302\r\n',
    'CAP LS\r\nPASS test\r\nNICK tim\r\nUSER tim tim 127.0.0.1 :Tim\r\n',
    'NICK alice\r\nUSER alice localhost 127.0.0.1 :alice\r\n',
    'NICK bob\r\n',
    'PASS secret\r\nNICK bob\r\n',
    'USER brotest * * * * * \r\n',
    'USER foo\nNICK foo\n',
    'STARTTLS\r\n',
    'NICK ali', // still arriving, but the nick has started
  ];
  const no = [
    'GET / HTTP/1.1\r\nHost: x\r\n\r\n',
    'CONNECT irc.example.net:6667 HTTP/1.1\r\n',
    'USER bob\r\nPASS secret\r\n', // POP3
    'USER anonymous\r\n', // FTP
    'PASS x\r\n',
    'EHLO mail.example.com\r\n',
    'a1 STARTTLS\r\n',
    'SSH-2.0-OpenSSH_5.9\r\n',
    '\x16\x03\x01\x02\x00\x01\x00\x01\xfc',
    '<?xml version="1.0"?><stream:stream to="example.com">',
    'VER 1 MSNP8 CVR0\r\n',
    'YMSG\x00\x0a\x00\x00',
    'hello, are you there?\n',
    'NICK\r\n',
    'nick alice\r\n',
    '353 \n',
    '',
  ];
  it.each(yes)('claims client first bytes %j', (text) => expect(sniffIrc(latin1(text), 'outgoing')).toBe(true));
  it.each(no)('does not claim client first bytes %j', (text) => expect(sniffIrc(latin1(text), 'outgoing')).toBe(false));
  it('recognises servers that speak first, and only them', () => {
    expect(sniffIrc(enc(':sendak.freenode.net NOTICE * :*** Looking up your hostname...\r\n'), 'incoming')).toBe(true);
    expect(sniffIrc(enc('NOTICE AUTH :*** Looking up your hostname\r\n'), 'incoming')).toBe(true);
    expect(sniffIrc(enc(':irc.example.net NOTICE AUTH :*** Checking Ident\r\n'), 'incoming')).toBe(true);
    expect(sniffIrc(enc(':irc.example.net 020 * :Please wait while we process your connection.\r\n'), 'incoming')).toBe(true);
    expect(sniffIrc(enc('220 mail.example.com ESMTP\r\n'), 'incoming')).toBe(false);
    expect(sniffIrc(enc('+OK POP3 ready\r\n'), 'incoming')).toBe(false);
    expect(sniffIrc(enc('* OK IMAP4rev1\r\n'), 'incoming')).toBe(false);
    expect(sniffIrc(enc('SSH-2.0-OpenSSH\r\n'), 'incoming')).toBe(false);
  });
  it('never throws on random bytes', () => {
    const random = prng(5);
    for (let i = 0; i < 2000; i++) {
      const bytes = Uint8Array.from({ length: Math.floor(random() * 200) }, () => Math.floor(random() * 256));
      sniffIrc(bytes, random() < 0.5 ? 'outgoing' : 'incoming');
    }
  });
});

describe('CTCP and DCC', () => {
  it('finds the CTCP command and the offsets of its arguments', () => {
    expect(parseCtcp('\x01ACTION waves\x01')).toEqual({ command: 'ACTION', argsStart: 8, argsEnd: 13 });
    expect(parseCtcp('\x01action waves')).toEqual({ command: 'ACTION', argsStart: 8, argsEnd: 13 });
    expect(parseCtcp('\x01VERSION\x01')).toEqual({ command: 'VERSION', argsStart: 8, argsEnd: 8 });
    expect(parseCtcp('\x01\x01')).toBeUndefined();
    expect(parseCtcp('plain')).toBeUndefined();
  });

  it('decodes DCC hosts', () => {
    expect(decodeHost('2130706433')).toBe('127.0.0.1');
    expect(decodeHost('167772167')).toBe('10.0.0.7');
    expect(decodeHost('4294967295')).toBe('255.255.255.255');
    expect(decodeHost('4294967296')).toBeUndefined();
    expect(decodeHost('192.168.0.1')).toBe('192.168.0.1');
    expect(decodeHost('300.1.1.1')).toBeUndefined();
    expect(decodeHost('2001:db8::1')).toBe('2001:db8::1');
    expect(decodeHost('../..')).toBeUndefined();
  });

  it('parses DCC offers leniently', () => {
    expect(parseDcc('SEND ssh.trace 167772167 59130 1320211')).toEqual({ type: 'SEND', kind: 'send', fileName: 'ssh.trace', host: '10.0.0.7', port: 59130, size: 1320211 });
    expect(parseDcc('SEND "a \\"b\\" c.txt" 1 2')).toMatchObject({ fileName: 'a \\' });
    expect(parseDcc('SEND "unterminated name 1 2')).toMatchObject({ fileName: 'unterminated name 1 2' });
    expect(parseDcc('SEND')).toEqual({ type: 'SEND', kind: 'send', fileName: '' });
    expect(parseDcc('SEND ../../etc/passwd 1 99999 5')).toEqual({ type: 'SEND', kind: 'send', fileName: '../../etc/passwd', host: '0.0.0.1', size: 5 });
    expect(parseDcc('CHAT chat 2130706433 4000')).toEqual({ type: 'CHAT', kind: 'chat', host: '127.0.0.1', port: 4000 });
    expect(parseDcc('ACCEPT file 5000 100')).toEqual({ type: 'ACCEPT', kind: 'other' });
    expect(parseDcc('   ')).toBeUndefined();
  });
});

describe('NOTICE splitting', () => {
  it('splits at spaces in the second half, else at the byte budget', () => {
    expect(splitText('aaaa bbbb cccc', 9)).toEqual(['aaaa bbbb', 'cccc']);
    expect(splitText('aaaaaaaaaaaa', 5)).toEqual(['aaaaa', 'aaaaa', 'aa']);
    expect(splitText('ééééé', 4)).toEqual(['éé', 'éé', 'é']);
    expect(splitText('', 10)).toEqual(['']);
  });
});
