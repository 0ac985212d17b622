/**
 * The Node options a relay thread is started with (a worker refuses V8's options and must not run the
 * process's preloaded modules again), and how many threads the `workers` setting asks for.
 */
import { availableParallelism } from 'node:os';
import { describe, expect, it } from 'vitest';
import { relayThreadCount, threadExecArgv } from '../src/runtime/relay-workers.js';

describe('threadExecArgv', () => {
  it('keeps profiling and source maps, with the profile folder in both forms', () => {
    expect(threadExecArgv(['--cpu-prof', '--cpu-prof-dir', '/tmp/prof', '--enable-source-maps'])).toEqual(['--cpu-prof', '--cpu-prof-dir', '/tmp/prof', '--enable-source-maps']);
    expect(threadExecArgv(['--cpu-prof', '--cpu-prof-dir=/tmp/prof'])).toEqual(['--cpu-prof', '--cpu-prof-dir=/tmp/prof']);
  });

  it('drops preloaded modules in both forms, and does not take their value for an option', () => {
    // The values look like options that would be kept: they must be skipped with their option.
    expect(threadExecArgv(['--import', '--enable-source-maps', '--require', '--cpu-prof', '-r', '--no-warnings'])).toEqual([]);
    expect(threadExecArgv(['--import=./probe.mjs', '--require=./hook.cjs', '--enable-source-maps'])).toEqual(['--enable-source-maps']);
    expect(threadExecArgv(['--import', './probe.mjs', '-r', './hook.cjs', '--cpu-prof'])).toEqual(['--cpu-prof']);
  });

  it('drops the profile name (the threads would overwrite one another) and V8 options', () => {
    expect(threadExecArgv(['--cpu-prof', '--cpu-prof-name', 'main.cpuprofile', '--enable-source-maps'])).toEqual(['--cpu-prof', '--enable-source-maps']);
    expect(threadExecArgv(['--cpu-prof-name=main.cpuprofile', '--max-semi-space-size=8', '--max-old-space-size=4096', '--cpu-prof'])).toEqual(['--cpu-prof']);
  });

  it('gives nothing for nothing', () => {
    expect(threadExecArgv([])).toEqual([]);
  });
});

describe('relayThreadCount', () => {
  it('is 1 without the setting, the number given, or one per available core for auto', () => {
    expect(relayThreadCount(undefined)).toBe(1);
    expect(relayThreadCount(3)).toBe(3);
    expect(relayThreadCount(1)).toBe(1);
    expect(relayThreadCount('auto')).toBe(Math.max(1, availableParallelism()));
    expect(relayThreadCount('auto')).toBeGreaterThanOrEqual(1);
  });
});
