import assert from 'node:assert/strict';
import { test } from 'node:test';
import { testEvent } from '@imspect/sdk/testing';
import plugin from '../src/index.js';

const options = { words: ['confidential'], reply: 'not sent' };

test('blocks a message naming a listed word, whatever its case, and tells the sender', async () => {
  const { check } = await plugin.setup({ name: plugin.name, options });
  const verdict = await check(testEvent({ text: 'the CONFIDENTIAL plan' }));
  assert.equal(verdict.action, 'block');
  assert.equal(verdict.respond, 'not sent');
});

test('passes other messages and events that are not messages', async () => {
  const { check } = await plugin.setup({ name: plugin.name, options });
  assert.equal((await check(testEvent({ text: 'lunch at noon?' }))).action, 'pass');
  assert.equal((await check(testEvent({ type: 'login', text: undefined }))).action, 'pass');
});
