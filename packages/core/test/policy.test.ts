import { describe, expect, it } from 'vitest';
import { Policy, type FrameDecision, type NamedContent, type NamedFilter } from '../src/proxy/policy.js';
import type { ImEvent } from '@imspect/sdk';
import type { Verdict } from '@imspect/sdk';
import { recordingLogger } from './helpers.js';

function event(text: string | undefined, type: ImEvent['type'] = 'message'): ImEvent {
  return {
    id: text ?? 'x',
    at: new Date(0).toISOString(),
    protocol: 'test',
    direction: 'outgoing',
    type,
    localId: 'me',
    remoteId: 'you',
    ...(text === undefined ? {} : { text }),
    client: { ip: '127.0.0.1', port: 1 },
    server: { host: '127.0.0.1', port: 2 },
    filtered: false,
    categories: [],
  };
}

function policy(filters: NamedFilter[], contents: NamedContent[] = [], failMode: 'open' | 'closed' = 'open', hookTimeoutMs = 200) {
  const log = recordingLogger();
  return { policy: new Policy(filters, contents, { failMode, hookTimeoutMs }, log), log };
}

const filter = (name: string, check: (e: Readonly<ImEvent>) => Verdict | Promise<Verdict>): NamedFilter => ({ name, hooks: { check } });
const content = (name: string, transform: (e: Readonly<ImEvent>) => string | undefined | Promise<string | undefined>): NamedContent => ({
  name,
  hooks: { transform },
});

describe('Policy', () => {
  it('calls a filter only for the event types it judges (judges); a judges that fails counts as every type', () => {
    const seen: string[] = [];
    const onlyFiles: NamedFilter = { name: 'files', hooks: { check: (e) => (seen.push(`files ${e.type}`), { action: 'block', categories: ['f'] }), judges: new Set(['file']) } };
    const never: NamedFilter = { name: 'never', hooks: { check: (e) => (seen.push(`never ${e.type}`), { action: 'pass' }), judges: new Set() } };
    const broken: NamedFilter = {
      name: 'broken',
      hooks: {
        check: (e) => (seen.push(`broken ${e.type}`), { action: 'pass' }),
        get judges(): ReadonlySet<string> {
          throw new Error('no');
        },
      },
    };
    const { policy: p } = policy([never, broken, onlyFiles]);
    const events = [event('hi'), event(undefined, 'file')];
    const decision = p.decide(events) as FrameDecision;
    expect(seen).toEqual(['broken message', 'broken file', 'files file']);
    expect(decision.block).toBe(true);
    expect(events.map((e) => e.filtered)).toEqual([false, true]);
  });

  it('a frozen verdict is checked once; a damaged one is still a failure each time', () => {
    const pass = Object.freeze({ action: 'pass' }) as Verdict;
    let bad: Record<string, unknown> = { action: 'pass' };
    const { policy: p, log } = policy([filter('shared', () => pass), filter('changing', () => bad as unknown as Verdict)], [], 'closed');
    expect((p.decide([event('a')]) as FrameDecision).block).toBe(false);
    bad = { action: 'maybe' };
    expect((p.decide([event('b')]) as FrameDecision).block).toBe(true);
    expect(JSON.stringify(log.records)).toContain('changing');
  });

  it('stays synchronous when every hook is', () => {
    const { policy: p } = policy([filter('a', () => ({ action: 'pass' }))], [content('c', () => undefined)]);
    const decision = p.decide([event('hi')]);
    expect(decision).toEqual({ block: false, responses: [] });
  });

  it('the first block wins: later filters do not see that event; categories accumulate', async () => {
    const seen: string[] = [];
    const { policy: p } = policy([
      filter('tagger', (e) => (seen.push(`tagger ${e.text}`), { action: 'pass', categories: ['1 tagged'] })),
      filter('blocker', (e) => (seen.push(`blocker ${e.text}`), e.text === 'bad' ? { action: 'block', categories: ['2 bad'], respond: 'no' } : { action: 'pass' })),
      filter('late', async (e) => (seen.push(`late ${e.text}`), { action: 'pass', categories: ['3 late'] })),
    ]);
    const events = [event('bad'), event('ok')];
    const decision = (await p.decide(events)) as FrameDecision;
    expect(decision.block).toBe(true);
    expect(decision.responses).toEqual(['no']);
    expect(seen).toEqual(['tagger bad', 'blocker bad', 'tagger ok', 'blocker ok', 'late ok']);
    expect(events.map((e) => [e.filtered, e.categories])).toEqual([
      [true, ['1 tagged', '2 bad']],
      [false, ['1 tagged', '3 late']],
    ]);
  });

  it('content plugins are chained; each sees the text the previous one produced', async () => {
    const { policy: p } = policy(
      [],
      [content('mask', (e) => e.text!.replace('darn', '****')), content('async-upper', async (e) => e.text!.toUpperCase()), content('suffix', (e) => `${e.text}!`)],
    );
    const events = [event('oh darn')];
    const decision = (await p.decide(events)) as FrameDecision;
    expect(decision.text).toBe('OH ****!');
    expect(events[0]!.deliveredText).toBe('OH ****!');
    expect(events[0]!.text).toBe('oh darn');
  });

  it('a blocked frame is not transformed', async () => {
    let called = false;
    const { policy: p } = policy([filter('b', () => ({ action: 'block' }))], [content('c', () => ((called = true), 'x'))]);
    const decision = (await p.decide([event('hi')])) as FrameDecision;
    expect(decision).toEqual({ block: true, responses: [] });
    expect(called).toBe(false);
  });

  it('events without text (typing, login) are not given to content plugins', async () => {
    let called = 0;
    const { policy: p } = policy([], [content('c', () => (called++, 'x'))]);
    expect(await p.decide([event(undefined, 'typing')])).toEqual({ block: false, responses: [] });
    expect(called).toBe(0);
  });

  it('a throwing or hanging content plugin leaves the text as it was and the others go on', async () => {
    const { policy: p, log } = policy(
      [],
      [
        content('thrower', () => {
          throw new Error('nope');
        }),
        content('hanger', () => new Promise(() => undefined)),
        content('upper', (e) => e.text!.toUpperCase()),
      ],
      'open',
      30,
    );
    const events = [event('hi')];
    const decision = (await p.decide(events)) as FrameDecision;
    expect(decision.text).toBe('HI');
    const failed = log.records.filter((r) => r.level === 'error').map((r) => [(r.obj as { plugin: string }).plugin, (r.obj as { hook: string }).hook]);
    expect(failed).toEqual([
      ['thrower', 'transform'],
      ['hanger', 'transform'],
    ]);
  });

  it('fail-closed: a failing or hanging filter blocks with an error category naming it', async () => {
    const { policy: p } = policy([filter('hangs', () => new Promise<Verdict>(() => undefined))], [], 'closed', 30);
    const events = [event('hi')];
    const decision = (await p.decide(events)) as FrameDecision;
    expect(decision.block).toBe(true);
    expect(events[0]!.categories).toEqual(['error hangs']);
  });
});
