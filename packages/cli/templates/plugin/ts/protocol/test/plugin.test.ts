// Runs on the build (dist): `npm test` compiles first, and Node runs this file as it is (type stripping).
import assert from 'node:assert/strict';
import os from 'node:os';
import { test } from 'node:test';
import type { PluginContext, PluginLogger, ProtocolHooks } from '@imspect/sdk';
import { checkPassesThrough, checkSplitInvariance, script } from '@imspect/sdk/testing';
import plugin, { ChatSession } from '../dist/index.js';

const quiet: PluginLogger = { trace() {}, debug() {}, info() {}, warn() {}, error() {}, child: () => quiet };
/** What imspect hands setup(): here with the options a test chooses. */
const contextWith = <Options>(options: Options): PluginContext<Options> => ({
  name: plugin.name,
  logger: quiet,
  options,
  hostVersion: '0.1.0',
  dataDir: os.tmpdir(),
  configDir: os.tmpdir(),
});

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
  const hooks: ProtocolHooks = await plugin.setup(contextWith({ ports: [7777], maxLineBytes: 4096 }));
  assert.deepEqual(hooks.ports, [7777]);
  assert.equal(hooks.sniff?.(new TextEncoder().encode('LOGIN alice\r\n'), 'outgoing'), true);
});
