import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { isPlugin } from '@imspect/sdk';
import plugin, { DEFAULT_MAX_STANZA_BYTES, DEFAULT_PORTS, DEFAULT_TLS_PORTS, XmppSession } from '../src/index.js';
import { sniffXmpp } from '../src/sniff.js';
import { decodeEntities, escapeXml } from '../src/xml.js';
import { fileNameOf } from '../src/xmpp-state.js';
import { enc } from './helpers.js';

const ctx = (options: Record<string, unknown>) => ({ name: 'xmpp', options, hostVersion: '0.1.0', dataDir: '/tmp', configDir: '/tmp', logger: undefined as never }) as never;
const endpoints = { client: { ip: '192.0.2.1', port: 1 }, server: { host: 'xmpp.example.net', port: 5222 } };

describe('the plugin', () => {
  it('is the protocol plugin "xmpp" on 5222, with 5223 for TLS and a 256 KiB stanza limit by default', async () => {
    expect(isPlugin(plugin)).toBe(true);
    expect([plugin.name, plugin.kind]).toEqual(['xmpp', 'protocol']);
    const hooks = await plugin.setup(ctx({}));
    expect(hooks.ports).toEqual([5222]);
    expect(DEFAULT_PORTS).toEqual([5222]);
    expect(hooks.tlsPorts).toEqual(DEFAULT_TLS_PORTS);
    expect(hooks.tlsPorts).toEqual([5223]);
    expect(hooks.maxFrameSize).toBe(DEFAULT_MAX_STANZA_BYTES);
    const session = hooks.createSession({ ...endpoints, maxFrameSize: 8192 });
    expect(session).toBeInstanceOf(XmppSession);
    expect((session as XmppSession).maxStanzaBytes).toBe(8192);
  });

  it('takes its options, and never lets the limit fall below a login exchange', async () => {
    const hooks = await plugin.setup(ctx({ maxStanzaBytes: 65536, ports: [5222, 15222], tlsPorts: [] }));
    expect([hooks.maxFrameSize, hooks.ports, hooks.tlsPorts]).toEqual([65536, [5222, 15222], []]);
    expect(new XmppSession({ ...endpoints, maxFrameSize: 10 }).maxStanzaBytes).toBe(4096);
    expect(new XmppSession({ ...endpoints, maxFrameSize: Number.NaN }).maxStanzaBytes).toBe(DEFAULT_MAX_STANZA_BYTES);
  });

  it('declares itself in package.json as imspect expects', () => {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as Record<string, unknown>;
    expect(pkg['name']).toBe('@imspect/plugin-jabber');
    expect(pkg['imspect']).toEqual({ kind: 'protocol', host: '^0.1.0', name: 'xmpp' });
    expect(pkg['keywords']).toContain('imspect-plugin');
  });
});

describe('sniff', () => {
  it('recognises a client or server stream header, with or without an XML declaration', () => {
    for (const yes of [
      "<stream:stream to='example.com' xmlns='jabber:client'>",
      "<?xml version='1.0'?><stream:stream to='example.com'>",
      "\ufeff<?xml version='1.0' ?>\n<stream:stream\nto='x'>",
      '  <stream:stream>',
    ])
      expect(sniffXmpp(enc(yes), 'outgoing'), yes).toBe(true);
    for (const no of [
      "<?xml version='1.0' ?>", // not yet: the header has not arrived
      '<stream:strea',
      '<stream:streams>',
      '<html><body>',
      'GET / HTTP/1.1\r\n',
      'NICK alice\r\n',
      "<?xml version='1.0'?><soap:Envelope>",
      '\x16\x03\x01\x02\x00',
      '',
    ])
      expect(sniffXmpp(enc(no), 'outgoing'), no).toBe(false);
  });
});

describe('XML helpers', () => {
  it('escapes the five special characters and drops what XML cannot carry', () => {
    expect(escapeXml(`<a href="x">'&'</a>\u0000\u0007\ud800ok😀`)).toBe('&lt;a href=&quot;x&quot;&gt;&apos;&amp;&apos;&lt;/a&gt;ok😀');
  });

  it('decodes only predefined entities and character references', () => {
    const errors: Array<{ code: string; message: string }> = [];
    expect(decodeEntities('&lt;&gt;&amp;&quot;&apos;&#65;&#x42;&#x1f600;', errors)).toBe(`<>&"'AB😀`);
    expect(errors).toEqual([]);
    expect(decodeEntities('&xxe; &#xFFFE; & &toString; &constructor;', errors)).toBe('&xxe; &#xFFFE; & &toString; &constructor;');
    expect(errors.map((e) => e.code)).toEqual(['undefined-entity', 'undefined-entity', 'undefined-entity', 'undefined-entity', 'undefined-entity']);
  });

  it('names an uploaded file after the last segment of its URL', () => {
    expect(fileNameOf('https://h.example/a/tr%C3%A8s%20cool.jpg?token=1#x')).toBe('très cool.jpg');
    expect(fileNameOf('https://h.example/a/%E0%A4%A.bin')).toBe('%E0%A4%A.bin');
    expect(fileNameOf('not a url/x.txt')).toBe('x.txt');
  });
});
