import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkPassesThrough, checkSplitInvariance, script } from '@imspect/sdk/testing';
import plugin from '../src/index.js';
import { ChatSession } from '../src/session.js';

const newSession = () => new ChatSession({ client: { ip: '192.0.2.1', port: 40000 }, server: { host: 'chat.example.net', port: 7777 }, maxFrameSize: 4096 });

test('a login and two messages: the same frames and events at every cut', () => {
  const whole = checkSplitInvariance(newSession, script(['>', 'LOGIN alice\r\n'], ['<', 'MSG bob :hi alice\r\n'], ['>', 'MSG bob :hi bob\r\n']));
  assert.deepEqual(
    whole.events.map((e) => [e.direction, e.type, e.remoteId, e.text]),
    [
      ['outgoing', 'login', '', undefined],
      ['incoming', 'message', 'bob', 'hi alice'],
      ['outgoing', 'message', 'bob', 'hi bob'],
    ],
  );
});

test('other traffic on the port passes through untouched', () => {
  checkPassesThrough(newSession, script(['>', 'GET / HTTP/1.1\r\n\r\n'], ['<', 'HTTP/1.1 200 OK\r\n\r\n']));
});

test('the plugin offers its ports and sessions', async () => {
  const hooks = await plugin.setup({ name: plugin.name, options: { ports: [7777], maxLineBytes: 4096 } });
  assert.deepEqual(hooks.ports, [7777]);
  assert.equal(hooks.sniff(new TextEncoder().encode('LOGIN alice\r\n'), 'outgoing'), true);
});
