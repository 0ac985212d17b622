#!/usr/bin/env node
// Where `imspect replay` spends its time, stage by stage, on the synthetic IRC capture (see run.js):
//   node bench/replay/stages.js [--mb 300] [--capture FILE] [--rounds 1] [--only replay] [--repo DIR] [--pretenuring]
// Each line runs the pipeline up to one more stage, in this process, and prints its time and MB/s; the
// difference between two lines is what that stage costs:
//   read      the file read and split into packets (pcap records)
//   reassemble  + link/IP/TCP decoding and TCP reassembly (handlers do nothing)
//   parse     + the IRC plugin's sessions: framing into lines and parsing them into event drafts
//   replay    + the connection path (ProxyConnection: frames, events built, policy, sink), as `imspect replay -q`
//             runs it with the default configuration (no loggers)
// Run after `pnpm build`; the capture is the one run.js makes (made here too when it is missing).
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const flag = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1] : fallback;
};
/** The checkout whose build is measured (another built worktree, to compare). */
const repo = path.resolve(flag('repo', path.resolve(here, '../..')));
const mb = Number(flag('mb', '300'));
// As `imspect replay` does (see its command); `--pretenuring` keeps V8's default, to compare.
if (!args.includes('--pretenuring')) (await import('node:v8')).setFlagsFromString('--no-allocation-site-pretenuring');
const rounds = Number(flag('rounds', '1'));
/** Run only the stages named (comma-separated), e.g. `--only replay` under `node --cpu-prof`. */
const only = flag('only', undefined)?.split(',');
const capture = path.resolve(flag('capture', path.join(os.tmpdir(), `imspect-replay-bench-${mb}mb.pcap`)));
if (!existsSync(capture)) {
  const made = spawnSync(process.execPath, [path.join(here, 'make-capture.js'), capture, String(mb)], { stdio: 'inherit' });
  if (made.status !== 0) process.exit(1);
}
const size = statSync(capture).size / 1e6;
const load = (p) => import(pathToFileURL(path.join(repo, p)).href);
const { forEachPacket } = await load('packages/core/dist/capture/capture-file.js');
const { replayCapture } = await load('packages/core/dist/capture/connections.js');
const { IrcSession } = await load('packages/plugin-irc/dist/session.js');
const { Engine, replayFile, createOperationalLogger } = await load('packages/core/dist/runtime/index.js');
const { loadConfig } = await load('packages/core/dist/config/index.js');

const noop = { open() {}, data() {}, anomaly() {}, close() {} };

const stages = [
  ['read', async () => ({ packets: await forEachPacket(capture, () => {}) })],
  ['reassemble', async () => ({ packets: (await replayCapture(capture, noop, { serverPorts: [6667] })).packets })],
  [
    'parse',
    async () => {
      const sessions = new Map();
      let events = 0;
      await replayCapture(
        capture,
        {
          open(conn) {
            sessions.set(conn.id, new IrcSession({ client: conn.client, server: { host: conn.server.ip, port: conn.server.port }, maxFrameSize: 16 * 1024 }));
          },
          data(conn, direction, bytes) {
            for (const frame of sessions.get(conn.id).push(direction, bytes)) events += frame.events?.length ?? 0;
          },
          anomaly() {},
          close() {},
        },
        { serverPorts: [6667] },
      );
      return { events };
    },
  ],
  [
    'replay',
    async () => {
      const loaded = await loadConfig({ cwd: os.tmpdir() });
      const engine = new Engine({
        loaded,
        logger: createOperationalLogger({ level: 'warn', format: 'json' }),
        pluginRoots: [os.tmpdir(), path.join(repo, 'packages/cli')],
        builtinFrom: path.join(repo, 'packages/cli'),
        skipKinds: ['logger'],
      });
      await engine.prepare();
      const summary = await replayFile(capture, { deps: engine.relayDeps, serverPorts: [...engine.registry.ports.keys()] });
      await engine.stop();
      return { events: Object.values(summary.eventsByType).reduce((a, b) => a + b, 0) };
    },
  ],
];

console.log(`capture: ${capture}, ${size.toFixed(1)} MB`);
for (let round = 0; round < rounds; round++) {
  let before = 0;
  for (const [name, run] of stages) {
    if (only && !only.includes(name)) continue;
    const cpu0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    const result = await run();
    const wall = Number(process.hrtime.bigint() - t0) / 1e9;
    const cpu = process.cpuUsage(cpu0);
    const cpuS = (cpu.user + cpu.system) / 1e6;
    console.log(
      `${name.padEnd(11)} ${wall.toFixed(2).padStart(6)} s wall, ${cpuS.toFixed(2).padStart(6)} s CPU (${(size / cpuS).toFixed(0).padStart(4)} MB per CPU s; this stage +${(cpuS - before).toFixed(2)} s CPU)  ${JSON.stringify(result)}`,
    );
    before = cpuS;
  }
}
console.log(
  `peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB; load average ${os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')} on ${os.cpus().length} CPUs`,
);
