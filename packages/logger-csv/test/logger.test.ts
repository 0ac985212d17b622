import { afterAll, describe, it, expect } from 'vitest';
import { mkdir, readdir, readFile, realpath, rm, stat, writeFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { ImspectError, isPlugin, type ImEvent } from '@imspect/sdk';
import plugin, { CsvLogger, decodeSegment, resolveOptions } from '../src/index.js';
import { TARGET_CACHE_SIZE } from '../src/logger.js';
import { HOSTILE_IDS, makeEvent, parseCsv, quietLogger, setupLogger, tempDir, removeTempDirs, type Logged } from './helpers.js';

afterAll(removeTempDirs);

const read = (file: string) => readFile(file, 'utf8');

/** Every file below `dir`, as paths relative to it. */
async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)))
    .sort();
}

describe('plugin definition', () => {
  it('is a logger plugin named logger-csv with documented defaults', () => {
    expect(isPlugin(plugin)).toBe(true);
    expect(plugin.name).toBe('logger-csv');
    expect(plugin.kind).toBe('logger');
    const props = plugin.options!.properties;
    expect(props.dir.default).toBe('logs');
    expect(props.timezone.default).toBe('local');
    expect(props.fsync.default).toBe(false);
    for (const schema of Object.values(props)) expect((schema as { description?: string }).description).toBeTruthy();
  });

  it('rejects an unknown time zone at setup, naming the option', async () => {
    await expect(setupLogger(await tempDir(), { timezone: 'Mars/Olympus' })).rejects.toThrow(/timezone.*Mars\/Olympus/);
  });
});

describe('layout and columns', () => {
  it('files events that name their network under {protocol}/{network}/, the others as IMSpector did', async () => {
    const data = await tempDir();
    const log = await setupLogger(data);
    const at = '2024-03-05T10:20:30.000Z';
    await log.write([
      makeEvent({ at, protocol: 'irc', network: 'irc.one.example', localId: 'alice', remoteId: '#room', text: 'on one' }),
      makeEvent({ at, protocol: 'irc', network: 'irc.two.example', localId: 'alice', remoteId: '#room', text: 'on two' }),
      makeEvent({ at, protocol: 'irc', network: '2001:db8::1', localId: 'alice', remoteId: 'bob', text: 'by address' }),
      makeEvent({ at, protocol: 'msn', localId: 'alice@example.com', remoteId: 'bob@example.com', text: 'global ids' }),
    ]);
    await log.close();
    expect(await listFiles(join(data, 'logs'))).toEqual(
      [
        join('irc', '2001%3Adb8%3A%3A1', 'alice', 'bob', '2024-03-05.csv'),
        join('irc', 'irc.one.example', 'alice', '#room', '2024-03-05.csv'),
        join('irc', 'irc.two.example', 'alice', '#room', '2024-03-05.csv'),
        join('msn', 'alice@example.com', 'bob@example.com', '2024-03-05.csv'),
      ].sort(),
    );
    expect(parseCsv(await read(join(data, 'logs', 'irc', 'irc.two.example', 'alice', '#room', '2024-03-05.csv')))[0]![7]).toBe('on two');
  });

  it('networkFolder: false keeps the IMSpector layout for every protocol (two networks share a folder)', async () => {
    const data = await tempDir();
    const log = await setupLogger(data, { networkFolder: false });
    const at = '2024-03-05T10:20:30.000Z';
    await log.write([
      makeEvent({ at, protocol: 'irc', network: 'irc.one.example', localId: 'alice', remoteId: '#room', text: 'on one' }),
      makeEvent({ at, protocol: 'irc', network: 'irc.two.example', localId: 'alice', remoteId: '#room', text: 'on two' }),
    ]);
    await log.close();
    expect(await listFiles(join(data, 'logs'))).toEqual([join('irc', 'alice', '#room', '2024-03-05.csv')]);
  });

  it('writes one row per event with every column, per type', async () => {
    const data = await tempDir();
    const log = await setupLogger(data);
    const base = { at: '2024-03-05T10:20:30.999Z' };
    const events: ImEvent[] = [
      makeEvent({ ...base, id: 'e1', text: 'hi bob', categories: ['2 badwords', 'spam'], filtered: true }),
      makeEvent({
        ...base,
        id: 'e2',
        direction: 'incoming',
        type: 'file',
        file: { name: 'holiday photo.jpg', size: 123456 },
        text: undefined,
        data: { address: '10.0.0.9', port: 5000 },
      }),
      makeEvent({ ...base, id: 'e3', type: 'file', file: { name: 'nosize.bin' }, text: undefined }),
      makeEvent({ ...base, id: 'e4', direction: 'incoming', type: 'typing', text: undefined }),
      makeEvent({ ...base, id: 'e5', type: 'webcam', text: undefined, data: { invite: true } }),
      makeEvent({ ...base, id: 'e6', type: 'login', text: undefined, data: { client: 'HexChat', version: '2.16', note: 'a b%,c' } }),
      makeEvent({ ...base, id: 'e7', type: 'logout', text: 'Quit: bye' }),
      makeEvent({ ...base, id: 'e8', type: 'join', remoteId: '#imspect', conversation: '#imspect', text: undefined }),
      makeEvent({ ...base, id: 'e9', type: 'leave', remoteId: '#imspect', text: 'gone' }),
      makeEvent({ ...base, id: 'e10', type: 'contact', text: undefined, data: { roster: false, contacts: 3 } }),
      makeEvent({ ...base, id: 'e11', type: 'encrypted', text: undefined }),
      makeEvent({ ...base, id: 'e12', type: 'other', subtype: 'ctcp', text: 'VERSION' }),
      makeEvent({ ...base, id: 'e13', subtype: 'action', text: 'waves', deliveredText: 'w***s' }),
      makeEvent({ ...base, id: 'e14', type: 'future-type' as ImEvent['type'], text: 'x' }),
      makeEvent({
        ...base,
        id: 'e15',
        direction: 'incoming',
        subtype: 'notice',
        text: 'note',
        client: { ip: '2001:db8::1', port: 40000 },
        server: { host: '2001:db8::2', port: 6697 },
      }),
    ];
    await log.write(events);
    await log.close();

    expect(await listFiles(data)).toEqual([join('logs', 'irc', 'alice', '#imspect', '2024-03-05.csv'), join('logs', 'irc', 'alice', 'bob', '2024-03-05.csv')]);
    expect(await read(join(data, 'logs/irc/alice/bob/2024-03-05.csv'))).toBe(
      [
        '10.0.0.5:51234,1709634030,1,1,1,2 badwords;spam,,hi bob,e1,,,,irc.example.net:6667,',
        '10.0.0.5:51234,1709634030,0,2,0,,holiday photo.jpg 123456,,e2,,,,irc.example.net:6667,address=10.0.0.9 port=5000',
        '10.0.0.5:51234,1709634030,1,2,0,,nosize.bin,,e3,,,,irc.example.net:6667,',
        '10.0.0.5:51234,1709634030,0,3,0,,,,e4,,,,irc.example.net:6667,',
        '10.0.0.5:51234,1709634030,1,4,0,,invite=1,,e5,,,,irc.example.net:6667,invite=1',
        '10.0.0.5:51234,1709634030,1,5,0,,"client=HexChat version=2.16 note=a%20b%25,c",,e6,,,,irc.example.net:6667,"client=HexChat version=2.16 note=a%20b%25,c"',
        '10.0.0.5:51234,1709634030,1,6,0,,,Quit: bye,e7,,,,irc.example.net:6667,',
        '10.0.0.5:51234,1709634030,1,9,0,,roster=0 contacts=3,,e10,,,,irc.example.net:6667,roster=0 contacts=3',
        '10.0.0.5:51234,1709634030,1,10,0,,,,e11,,,,irc.example.net:6667,',
        '10.0.0.5:51234,1709634030,1,11,0,,,VERSION,e12,ctcp,,,irc.example.net:6667,',
        '10.0.0.5:51234,1709634030,1,1,0,,,waves,e13,action,,w***s,irc.example.net:6667,',
        '10.0.0.5:51234,1709634030,1,11,0,,,x,e14,,,,irc.example.net:6667,',
        '[2001:db8::1]:40000,1709634030,0,1,0,,,note,e15,notice,,,[2001:db8::2]:6697,',
        '',
      ].join('\n'),
    );
    expect(await read(join(data, 'logs/irc/alice/#imspect/2024-03-05.csv'))).toBe(
      '10.0.0.5:51234,1709634030,1,7,0,,,,e8,,#imspect,,irc.example.net:6667,\n' + '10.0.0.5:51234,1709634030,1,8,0,,,gone,e9,,,,irc.example.net:6667,\n',
    );
  });

  it('resolves a relative dir against dataDir and keeps an absolute one', async () => {
    const data = await tempDir();
    const elsewhere = await tempDir();
    const rel = await setupLogger(data, { dir: 'archive/csv' });
    const abs = await setupLogger(data, { dir: join(elsewhere, 'abs') });
    await rel.write([makeEvent()]);
    await abs.write([makeEvent()]);
    await Promise.all([rel.close(), abs.close()]);
    expect(await listFiles(data)).toEqual([join('archive', 'csv', 'irc', 'alice', 'bob', '2024-03-05.csv')]);
    expect(await listFiles(elsewhere)).toEqual([join('abs', 'irc', 'alice', 'bob', '2024-03-05.csv')]);
  });

  it('writes a header row on new files only when asked', async () => {
    const data = await tempDir();
    const log = await setupLogger(data, { header: true });
    await log.write([makeEvent({ id: 'h1' })]);
    await log.close();
    const again = await setupLogger(data, { header: true });
    await again.write([makeEvent({ id: 'h2' })]);
    await again.close();
    const rows = parseCsv(await read(join(data, 'logs/irc/alice/bob/2024-03-05.csv')));
    expect(rows.map((r) => r[8])).toEqual(['event id', 'h1', 'h2']);
    expect(rows[0]).toEqual([
      'client address',
      'unix time',
      'outgoing',
      'type',
      'filtered',
      'categories',
      'event data',
      'text',
      'event id',
      'subtype',
      'conversation',
      'delivered text',
      'server',
      'data',
    ]);
  });

  it('defuses spreadsheet formulas in text columns only with excelSafe', async () => {
    const data = await tempDir();
    const plain = await setupLogger(data, { dir: 'plain' });
    const safe = await setupLogger(data, { dir: 'safe', excelSafe: true });
    const event = makeEvent({ id: 'f1', text: '=HYPERLINK("http://evil","x")', data: { '@cmd': true }, categories: ['-x'] });
    await plain.write([event]);
    await safe.write([event]);
    await Promise.all([plain.close(), safe.close()]);
    const plainRow = parseCsv(await read(join(data, 'plain/irc/alice/bob/2024-03-05.csv')))[0]!;
    const safeRow = parseCsv(await read(join(data, 'safe/irc/alice/bob/2024-03-05.csv')))[0]!;
    expect(plainRow[7]).toBe('=HYPERLINK("http://evil","x")');
    expect(safeRow[7]).toBe(`'=HYPERLINK("http://evil","x")`);
    expect(safeRow[6]).toBe(`'@cmd=1`);
    expect(safeRow[5]).toBe(`'-x`);
    expect(safeRow.slice(0, 5)).toEqual(plainRow.slice(0, 5));
  });

  it('logs an event whose time is unreadable, with the current time, and warns', async () => {
    const data = await tempDir();
    const sink: Logged[] = [];
    const log = await setupLogger(data, {}, sink);
    const before = Math.floor(Date.now() / 1000);
    await log.write([makeEvent({ id: 'bad-time', at: 'yesterday' })]);
    const after = Math.floor(Date.now() / 1000);
    await log.close();
    const files = await listFiles(data);
    expect(files).toHaveLength(1);
    const row = parseCsv(await read(join(data, files[0]!)))[0]!;
    expect(Number(row[1])).toBeGreaterThanOrEqual(before);
    expect(Number(row[1])).toBeLessThanOrEqual(after);
    expect(sink.some((l) => l.level === 'warn' && /not an ISO date/.test(l.msg ?? ''))).toBe(true);
  });
});

describe('RFC 4180 quoting and Unicode', () => {
  it('quotes commas, quotes, LF and CR and reads back exactly', async () => {
    const data = await tempDir();
    const log = await setupLogger(data);
    const texts = ['a,b', 'say "hi"', 'two\nlines', 'cr\ronly', 'crlf\r\nend', '"', ',', '', '"quoted, with\r\nall"'];
    await log.write(texts.map((text, i) => makeEvent({ id: `q${i}`, text, file: undefined, categories: ['a,b', 'c"d'] })));
    await log.close();
    const raw = await read(join(data, 'logs/irc/alice/bob/2024-03-05.csv'));
    expect(raw.split('\n')[0]).toBe('10.0.0.5:51234,1709634030,1,1,0,"a,b;c""d",,"a,b",q0,,,,irc.example.net:6667,');
    expect(raw).toContain(',"say ""hi""",q1,');
    expect(raw).toContain(',"two\nlines",q2,');
    expect(raw).toContain(',"cr\ronly",q3,');
    expect(raw).toContain(',"crlf\r\nend",q4,');
    expect(raw).toContain(',"""",q5,');
    const rows = parseCsv(raw);
    expect(rows).toHaveLength(texts.length);
    rows.forEach((row, i) => {
      expect(row).toHaveLength(14);
      expect(row[7]).toBe(texts[i]);
      expect(row[5]).toBe('a,b;c"d');
    });
  });

  it('writes Unicode text and ids as UTF-8, readable', async () => {
    const data = await tempDir();
    const log = await setupLogger(data);
    const text = 'Grüße, 日本語 ✓ 😀 Ελληνικά';
    await log.write([makeEvent({ id: 'u1', protocol: 'jabber', localId: 'josé@example.org', remoteId: '李小龙@example.cn', text })]);
    await log.close();
    const file = join(data, 'logs', 'jabber', 'josé@example.org', '李小龙@example.cn', '2024-03-05.csv');
    const bytes = await readFile(file);
    expect(bytes.includes(Buffer.from(text, 'utf8'))).toBe(true);
    expect(bytes[0]).toBe(0x31); // no BOM: starts with the client address
    expect(parseCsv(bytes.toString('utf8'))[0]![7]).toBe(text);
  });
});

describe('days', () => {
  it('rolls over into a new file at midnight of the configured zone', async () => {
    const data = await tempDir();
    const log = await setupLogger(data, { timezone: 'utc' });
    await log.write([makeEvent({ id: 'd1', at: '2024-12-31T23:59:59.999Z', text: 'last' }), makeEvent({ id: 'd2', at: '2025-01-01T00:00:00.000Z', text: 'first' })]);
    await log.write([makeEvent({ id: 'd3', at: '2025-01-01T12:00:00Z', text: 'noon' })]);
    await log.close();
    const dir = join(data, 'logs/irc/alice/bob');
    expect((await readdir(dir)).sort()).toEqual(['2024-12-31.csv', '2025-01-01.csv']);
    expect(parseCsv(await read(join(dir, '2024-12-31.csv'))).map((r) => [r[1], r[7]])).toEqual([['1735689599', 'last']]);
    expect(parseCsv(await read(join(dir, '2025-01-01.csv'))).map((r) => [r[1], r[7]])).toEqual([
      ['1735689600', 'first'],
      ['1735732800', 'noon'],
    ]);
  });

  it('names the day in an IANA time zone', async () => {
    const data = await tempDir();
    const log = await setupLogger(data, { timezone: 'Asia/Tokyo' });
    await log.write([makeEvent({ id: 't1', at: '2024-03-05T20:00:00Z' })]); // 05:00 on the 6th in Tokyo
    await log.write([makeEvent({ id: 't2', at: '2024-03-05T14:59:59Z' })]); // 23:59:59 on the 5th
    await log.close();
    expect(await listFiles(join(data, 'logs/irc/alice/bob'))).toEqual(['2024-03-05.csv', '2024-03-06.csv']);
  });

  it('names the day in local time by default (process TZ)', async () => {
    const data = await tempDir();
    const log = await setupLogger(data, { timezone: undefined });
    const at = '2024-03-05T23:30:00Z';
    await log.write([makeEvent({ id: 'l1', at })]);
    await log.close();
    const t = new Date(at);
    const day = `${t.getFullYear()}-${String(t.getMonth() + 1).padStart(2, '0')}-${String(t.getDate()).padStart(2, '0')}`;
    expect(await listFiles(join(data, 'logs/irc/alice/bob'))).toEqual([`${day}.csv`]);
  });
});

describe('hostile ids', () => {
  it('gives the same file from the target cache as without it, and ids never share a cache entry', async () => {
    const config = resolveOptions({ timezone: 'utc' }, await tempDir());
    const at = Date.parse('2024-03-05T10:20:30.456Z');
    const fresh = () => new CsvLogger(config, quietLogger());
    const cached = fresh();
    const tuples: [string, string, string][] = [
      ['irc', 'a\0b', 'c'],
      ['irc', 'a', 'b\0c'],
      ['irc', 'ab', 'c'],
      ['irc', 'a', 'bc'],
      ['irc\0a', 'b', 'c'],
      ['irc', '', 'abc'],
      ...HOSTILE_IDS.map((id): [string, string, string] => ['irc', id, id]),
    ];
    const files = new Set<string>();
    for (let round = 0; round < 2; round++) {
      for (const [protocol, localId, remoteId] of tuples) {
        const event = makeEvent({ protocol, localId, remoteId });
        const target = cached.targetFor(event, at);
        expect(target).toEqual(fresh().targetFor(event, at));
        if (round === 0) files.add(target.file);
      }
    }
    expect(files.size).toBe(new Set(tuples.map((t) => JSON.stringify(t))).size);
    // The cache is bounded and still right once it starts forgetting.
    for (let i = 0; i < TARGET_CACHE_SIZE + 10; i++) cached.targetFor(makeEvent({ remoteId: `peer${i}` }), at);
    const event = makeEvent({ remoteId: 'peer0' });
    expect(cached.targetFor(event, at)).toEqual(fresh().targetFor(event, at));
    expect(cached.targetFor(event, at + 86_400_000).file).toBe(join(config.root, 'irc', 'alice', 'peer0', '2024-03-06.csv'));
  });

  it('gives each event of a run its own conversation file when only one id, the network or the day differs from the event before', async () => {
    const config = resolveOptions({ timezone: 'utc' }, await tempDir());
    const at = Date.parse('2024-03-05T10:20:30.456Z');
    const cached = new CsvLogger(config, quietLogger());
    const fresh = () => new CsvLogger(config, quietLogger());
    const run: [Partial<ImEvent>, number][] = [
      [{ network: 'irc.example.org' }, at],
      [{ network: 'irc.example.org' }, at],
      [{ network: 'irc.example.net' }, at],
      [{ network: 'irc.example.net', localId: 'bob' }, at],
      [{ network: 'irc.example.net', localId: 'bob', remoteId: '#other' }, at],
      [{ network: 'irc.example.net', localId: 'bob', remoteId: '#other', protocol: 'xmpp' }, at],
      [{ network: 'irc.example.net', localId: 'bob', remoteId: '#other', protocol: 'xmpp' }, at + 86_400_000],
      [{}, at + 86_400_000],
      [{ network: 'irc.example.org' }, at],
    ];
    const files = run.map(([over, time]) => {
      const event = makeEvent(over);
      const target = cached.targetFor(event, time);
      expect(target).toEqual(fresh().targetFor(event, time));
      return target.file;
    });
    expect(new Set(files).size).toBe(run.length - 2);
  });

  it('logs every event inside the log folder, one file per distinct id', async () => {
    const data = await tempDir();
    const log = await setupLogger(data);
    const events: ImEvent[] = [];
    HOSTILE_IDS.forEach((id, i) => {
      events.push(makeEvent({ id: `r${i}`, remoteId: id, text: `remote ${i}` }));
      events.push(makeEvent({ id: `l${i}`, localId: id, remoteId: 'bob', text: `local ${i}` }));
      events.push(makeEvent({ id: `p${i}`, protocol: id, localId: 'alice', remoteId: 'bob', text: `protocol ${i}` }));
    });
    await log.write(events);
    await log.close();

    const root = await realpath(join(data, 'logs'));
    const files = (await listFiles(root)).filter((f) => f.endsWith('.csv'));
    const textsByFile = new Map<string, string[]>();
    for (const file of files) {
      const real = await realpath(join(root, file));
      expect(real.startsWith(root + sep), real).toBe(true);
      textsByFile.set(
        file,
        parseCsv(await read(real)).map((r) => r[7]!),
      );
    }
    // Every event is logged exactly once.
    const all = [...textsByFile.values()].flat().sort();
    expect(all).toEqual(events.map((e) => e.text!).sort());

    /** The id a folder stands for: decoded from its name, or from its .id file when truncated. */
    const idOf = async (dir: string, name: string): Promise<string> =>
      name.includes('%~') ? decodeSegment((await read(join(dir, name, '.id'))).replace(/\n$/, '')) : decodeSegment(name);

    // Two different ids never share a file; and the folders decode back to the ids.
    for (const [file, texts] of textsByFile) {
      const [protocol, local, remote, day] = file.split(sep);
      expect(day).toBe('2024-03-05.csv');
      const ids = { protocol: await idOf(root, protocol!), local: await idOf(join(root, protocol!), local!), remote: await idOf(join(root, protocol!, local!), remote!) };
      for (const text of texts) {
        const [kind, n] = text.split(' ') as [string, string];
        const id = HOSTILE_IDS[Number(n)]!;
        if (kind === 'remote') {
          // alice/bob and alice/<hostile> events may share only when the hostile id is 'bob' (it is not).
          expect(ids).toEqual({ protocol: 'irc', local: 'alice', remote: id });
        } else if (kind === 'local') {
          expect(ids).toEqual({ protocol: 'irc', local: id, remote: 'bob' });
        } else {
          expect(ids).toEqual({ protocol: id, local: 'alice', remote: 'bob' });
        }
      }
    }
    // irc/alice/bob must not exist: no hostile id maps to it (so no sharing with the plain case either).
    expect(textsByFile.has(join('irc', 'alice', 'bob', '2024-03-05.csv'))).toBe(false);
    // A file per hostile id and kind.
    expect(textsByFile.size).toBe(HOSTILE_IDS.length * 3);
    // Nothing outside the log folder was created.
    expect(await readdir(data)).toEqual(['logs']);
  });

  it('keeps the full id of a truncated folder in its .id file', async () => {
    const data = await tempDir();
    const log = await setupLogger(data);
    const long = 'z'.repeat(10 * 1024) + '/../x';
    await log.write([makeEvent({ id: 'long', remoteId: long })]);
    await log.close();
    const dir = join(data, 'logs/irc/alice');
    const [name] = await readdir(dir);
    expect(name).toMatch(/^z{158}%~[0-9a-f]{40}$/);
    const full = (await read(join(dir, name!, '.id'))).trimEnd();
    expect(decodeSegment(full)).toBe(long);
    expect((await readdir(join(dir, name!))).sort()).toEqual(['.id', '2024-03-05.csv']);
  });
});

describe('idempotency', () => {
  it('does not write a retried batch twice', async () => {
    const data = await tempDir();
    const log = await setupLogger(data);
    const batch = [makeEvent({ id: 'a', text: '1' }), makeEvent({ id: 'b', text: '2' }), makeEvent({ id: 'b', text: '2' })];
    await log.write(batch);
    await log.write(batch);
    await log.write([batch[0]!, makeEvent({ id: 'c', text: '3' })]);
    await log.close();
    const rows = parseCsv(await read(join(data, 'logs/irc/alice/bob/2024-03-05.csv')));
    expect(rows.map((r) => [r[8], r[7]])).toEqual([
      ['a', '1'],
      ['b', '2'],
      ['c', '3'],
    ]);
  });

  it('after a partial failure, a retry writes only what is missing', async () => {
    const data = await tempDir();
    const log = await setupLogger(data);
    await mkdir(join(data, 'logs/irc/alice'), { recursive: true });
    await writeFile(join(data, 'logs/irc/alice/carol'), 'not a folder'); // carol's folder cannot be created
    const batch = [
      makeEvent({ id: 'p1', remoteId: 'bob', text: 'to bob' }),
      makeEvent({ id: 'p2', remoteId: 'carol', text: 'to carol' }),
      makeEvent({ id: 'p3', remoteId: 'bob', text: 'to bob again' }),
    ];
    const failure = await log.write(batch).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(ImspectError);
    expect((failure as ImspectError).message).toContain(join(data, 'logs/irc/alice/carol'));
    expect((failure as ImspectError).message).toContain('1 of 3 events not written');
    expect((failure as ImspectError).code).toBe('LOG_WRITE_FAILED');
    expect((failure as ImspectError).plugin).toBe('logger-csv');
    expect((failure as ImspectError).hook).toBe('write');

    await rm(join(data, 'logs/irc/alice/carol'));
    await log.write(batch); // core's retry
    await log.close();
    expect(parseCsv(await read(join(data, 'logs/irc/alice/bob/2024-03-05.csv'))).map((r) => r[7])).toEqual(['to bob', 'to bob again']);
    expect(parseCsv(await read(join(data, 'logs/irc/alice/carol/2024-03-05.csv'))).map((r) => r[7])).toEqual(['to carol']);
  });

  it('writes the copies of one message on several devices once per participant (the first copy, its device in data)', async () => {
    const data = await tempDir();
    const log = await setupLogger(data);
    const key = 'xmpp outgoing alice bob id=m1';
    const original = makeEvent({ id: 'o1', text: 'you darn fool', deliveredText: 'you **** fool', messageKey: key, data: { device: 'phone' } });
    const carbon = makeEvent({ id: 'o2', text: 'you **** fool', messageKey: key, data: { device: 'laptop' } });
    // The same message for bob (another participant), and two copies of another message in one batch.
    const forBob = makeEvent({ id: 'o3', localId: 'bob', remoteId: 'alice', direction: 'incoming', text: 'you **** fool', messageKey: key, data: { device: 'desk' } });
    await log.write([original]);
    await log.write([
      carbon,
      forBob,
      makeEvent({ id: 'o4', text: 'hi', messageKey: `${key}-2`, data: { device: 'phone' } }),
      makeEvent({ id: 'o5', text: 'hi', messageKey: `${key}-2`, data: { device: 'laptop' } }),
    ]);
    // The same id reused for another text is another message.
    await log.write([makeEvent({ id: 'o6', text: 'other', messageKey: key, data: { device: 'phone' } })]);
    await log.close();
    expect(parseCsv(await read(join(data, 'logs/irc/alice/bob/2024-03-05.csv'))).map((r) => [r[8], r[7], r[11], r[13]])).toEqual([
      ['o1', 'you darn fool', 'you **** fool', 'device=phone'],
      ['o4', 'hi', '', 'device=phone'],
      ['o6', 'other', '', 'device=phone'],
    ]);
    expect(parseCsv(await read(join(data, 'logs/irc/bob/alice/2024-03-05.csv'))).map((r) => r[8])).toEqual(['o3']);
  });

  it('writes events without an id every time (nothing to recognise them by)', async () => {
    const data = await tempDir();
    const log = await setupLogger(data);
    const event = makeEvent({ id: '' });
    await log.write([event, event]);
    await log.close();
    expect(parseCsv(await read(join(data, 'logs/irc/alice/bob/2024-03-05.csv')))).toHaveLength(2);
  });
});

describe('files', () => {
  it('appends after close(), from the same instance and from a new one', async () => {
    const data = await tempDir();
    const first = await setupLogger(data);
    await first.write([makeEvent({ id: 'c1', text: 'one' })]);
    await first.flush();
    await first.close();
    await first.write([makeEvent({ id: 'c2', text: 'two' })]);
    await first.close();
    const second = await setupLogger(data);
    await second.write([makeEvent({ id: 'c3', text: 'three' })]);
    await second.close();
    await second.close(); // idempotent
    const rows = parseCsv(await read(join(data, 'logs/irc/alice/bob/2024-03-05.csv')));
    expect(rows.map((r) => r[7])).toEqual(['one', 'two', 'three']);
  });

  it('keeps writing correctly with few open files and many conversations', async () => {
    for (const maxOpenFiles of [0, 1, 2]) {
      const data = await tempDir();
      const log = await setupLogger(data, { maxOpenFiles, fsync: true });
      for (let round = 0; round < 3; round++) {
        await log.write(['p', 'q', 'r', 's', 't'].map((peer) => makeEvent({ remoteId: peer, text: `${peer}${round}` })));
      }
      await log.close();
      for (const peer of ['p', 'q', 'r', 's', 't']) {
        const rows = parseCsv(await read(join(data, `logs/irc/alice/${peer}/2024-03-05.csv`)));
        expect(rows.map((r) => r[7])).toEqual([`${peer}0`, `${peer}1`, `${peer}2`]);
      }
    }
  });

  it('recreates a file deleted while open instead of writing into the void', async () => {
    const data = await tempDir();
    const log = await setupLogger(data);
    await log.write([makeEvent({ id: 'x1', text: 'before' })]);
    await rm(join(data, 'logs/irc'), { recursive: true });
    await log.write([makeEvent({ id: 'x2', text: 'after' })]);
    await log.close();
    expect(await read(join(data, 'logs/irc/alice/bob/2024-03-05.csv'))).toContain(',after,x2,');
  });

  it('creates files and folders with private permissions by default', async () => {
    const data = await tempDir();
    const log = await setupLogger(data);
    const umask = process.umask();
    await log.write([makeEvent()]);
    await log.close();
    expect((await stat(join(data, 'logs/irc/alice/bob/2024-03-05.csv'))).mode & 0o777).toBe(0o640 & ~umask);
    expect((await stat(join(data, 'logs/irc/alice/bob'))).mode & 0o777).toBe(0o750 & ~umask);
  });

  it('rejects the batch with the path when the folder cannot be written', async () => {
    const data = await tempDir();
    await writeFile(join(data, 'blocker'), 'a file where a folder should be');
    const log = await setupLogger(data, { dir: 'blocker/logs' });
    const write = log.write([makeEvent({ id: 'w1' }), makeEvent({ id: 'w2' })]);
    await expect(write).rejects.toThrow(ImspectError);
    await expect(write).rejects.toThrow(join(data, 'blocker', 'logs', 'irc', 'alice', 'bob'));
    await expect(write).rejects.toThrow(/2 of 2 events not written/);
    await expect(write).rejects.toMatchObject({ code: 'LOG_WRITE_FAILED', plugin: 'logger-csv', hook: 'write' });
    // The logger is still usable once the problem is fixed.
    await rm(join(data, 'blocker'));
    await log.write([makeEvent({ id: 'w1' }), makeEvent({ id: 'w2' })]);
    await log.close();
    expect(parseCsv(await read(join(data, 'blocker/logs/irc/alice/bob/2024-03-05.csv'))).map((r) => r[8])).toEqual(['w1', 'w2']);
  });
});
