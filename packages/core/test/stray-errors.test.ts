import { symlink } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { pluginOf } from '../src/runtime/stray-errors.js';
import { removeTempDirs, tempDir, writeTree } from './helpers.js';

afterAll(removeTempDirs);

describe('pluginOf', () => {
  it('names the plugin whose folder is nearest the throw, through a linked folder too, and nothing for foreign code', async () => {
    const dir = await tempDir();
    await writeTree(dir, { 'store/a/index.js': '', 'store/b/index.js': '' });
    await symlink(path.join(dir, 'store/a'), path.join(dir, 'linked-a'));
    const plugins = [
      { name: 'a', dir: path.join(dir, 'linked-a') },
      { name: 'b', dir: path.join(dir, 'store/b') },
    ];
    const error = new Error('boom');
    error.stack = [
      'Error: boom',
      '    at Socket.emit (node:events:524:28)',
      `    at Timeout._onTimeout (file://${dir}/store/a/index.js:10:5)`,
      `    at write (${dir}/store/b/index.js:3:1)`,
    ].join('\n');
    expect(pluginOf(error, plugins)).toBe('a');
    error.stack = `Error: boom\n    at emit (node:events:524:28)\n    at x (${dir}/store/bb/index.js:1:1)`;
    expect(pluginOf(error, plugins)).toBeUndefined();
    expect(pluginOf('not an error', plugins)).toBeUndefined();
  });
});
