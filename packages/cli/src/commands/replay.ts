import { Args, Command, Flags } from '@oclif/core';
import { stat } from 'node:fs/promises';
import { setFlagsFromString } from 'node:v8';
import { canonicalProtocol } from '@imspect/core';
import { configFlag, explain, failWith, loadConfigOrExit, pluginRoots, CLI_DIR } from '../shared.js';
import { formatEvent, formatSummary, summaryJson } from '../replay-output.js';

export default class Replay extends Command {
  static override summary = 'Run a packet capture (pcap or pcapng) through the protocol plugins, filters and loggers';
  static override description =
    `Every TCP connection in the capture is reassembled and processed exactly as live traffic is: the protocol is chosen by server port (plugins' ports, the configuration's "ports", --port), then by the first bytes. Events are printed (or, with --to-loggers, written to the configured loggers), followed by a summary: connections per protocol, events per type, the connections per protocol that carried IM traffic but gave no events, and every gap, truncation, protocol error and encrypted stream with the connection it happened on. An encrypted stream (STARTTLS, a TLS port, TLS from the first byte) also gives an "encrypted" event. UDP datagrams are read for classic QQ (UDP port 8000), and the summary lists circumvention attempts: IM on odd ports or inside HTTP, and IM that could not be read (policy.unreadable).`;
  static override examples = [
    '<%= config.bin %> replay capture.pcap',
    '<%= config.bin %> replay capture.pcapng --json > events.jsonl',
    '<%= config.bin %> replay capture.pcap --port 16667=irc --to-loggers --config imspect.config.yaml',
  ];
  static override args = { file: Args.string({ required: true, description: 'pcap or pcapng capture file' }) };
  static override flags = {
    config: configFlag,
    json: Flags.boolean({ description: 'one JSON object per line: each event, then {"summary": ...}' }),
    port: Flags.string({ char: 'p', multiple: true, description: 'server port to protocol, e.g. 5222=xmpp (jabber is accepted for xmpp; repeatable)', helpValue: 'PORT=PROTOCOL' }),
    'to-loggers': Flags.boolean({ description: 'write the events to the configured loggers instead of printing them' }),
    quiet: Flags.boolean({ char: 'q', description: 'print only the summary' }),
  };

  async run(): Promise<void> {
    // A replay allocates a few short-lived objects per message, millions in a row. V8's allocation-site
    // pretenuring takes such a burst for long-lived data and allocates it straight into the old generation,
    // where it dies and needs full collections: without it, about 1.5 to 2 times faster (bench/replay).
    // The flag is read at collection time, so setting it here, before the capture is read, takes effect.
    setFlagsFromString('--no-allocation-site-pretenuring');
    const { args, flags } = await this.parse(Replay);
    const { createOperationalLogger, Engine, replayFile } = await import('@imspect/core/runtime');
    const ports: Record<string, string> = {};
    for (const mapping of flags.port ?? []) {
      const match = /^(\d{1,5})=([\w.@/-]+)$/.exec(mapping);
      if (!match || Number(match[1]) > 65535) failWith(new Error(`--port ${mapping}: expected PORT=PROTOCOL, e.g. 5222=jabber`), 2);
      ports[match[1]!] = canonicalProtocol(match[2]!);
    }
    let size: number;
    try {
      const info = await stat(args.file);
      if (!info.isFile()) throw new Error(`${args.file}: not a file`);
      size = info.size;
    } catch (error) {
      failWith(error, 2);
    }
    const loaded = await loadConfigOrExit(flags.config);
    Object.assign(loaded.config.ports, ports);
    const logger = createOperationalLogger({ level: loaded.config.log.level === 'info' ? 'warn' : loaded.config.log.level, format: loaded.config.log.format });
    const engine = new Engine({
      loaded,
      logger,
      pluginRoots: pluginRoots(),
      builtinFrom: CLI_DIR,
      ...(flags['to-loggers'] ? {} : { skipKinds: ['logger' as const] }),
    });
    try {
      await engine.prepare();
    } catch (error) {
      failWith(error, (error as { code?: unknown }).code === 'PLUGIN_START_FAILED' ? 2 : 1);
    }
    for (const name of Object.values(ports)) {
      if (!engine.registry!.get(name))
        failWith(new Error(`--port: no protocol plugin named "${name}" is loaded (loaded: ${engine.registry!.all.map((p) => p.name).join(', ') || 'none'})`), 2);
    }
    const print = !flags.quiet && !flags['to-loggers'];
    const output = new BufferedOutput();
    if (print) {
      engine.onEvents((events) => {
        for (const event of events) output.add(flags.json ? `${JSON.stringify(event)}\n` : `${formatEvent(event)}\n`);
      });
    }
    const progress = process.stderr.isTTY && !flags.json ? new ProgressLine(size) : undefined;
    const serverPorts = [...engine.registry!.ports.keys(), ...engine.registry!.all.flatMap((p) => p.hooks.tlsPorts ?? [])];
    const summary = await replayFile(args.file, {
      deps: engine.relayDeps!,
      serverPorts,
      ...(progress ? { onProgress: (bytes: number) => progress.update(bytes) } : {}),
      // A slow reader behind a pipe: reading the capture waits for it rather than piling lines up in memory.
      ...(print ? { holdReading: () => output.drained() } : {}),
    });
    progress?.done();
    await engine.stop();
    output.flush();
    if (flags.json) process.stdout.write(`${JSON.stringify({ summary: summaryJson(summary) })}\n`);
    else process.stdout.write(formatSummary(summary, flags['to-loggers']));
    if (summary.error) {
      process.stderr.write(`imspect: ${explain(summary.error)}\n`);
      process.exit(1);
    }
  }
}

/**
 * Event lines gathered into writes of about 64 KB: one write per event was a system call per event, as much
 * time as the rest of a replay of millions of events. When standard output does not keep up, `drained()` says
 * until when the replay should hold.
 */
class BufferedOutput {
  private lines: string[] = [];
  private size = 0;
  private draining: Promise<void> | undefined;

  /** Settles once standard output has taken what was written; undefined when it already has. */
  drained(): Promise<void> | undefined {
    return this.draining;
  }

  add(line: string): void {
    this.lines.push(line);
    this.size += line.length;
    if (this.size >= 64 * 1024) this.flush();
  }

  flush(): void {
    if (this.lines.length === 0) return;
    const taken = process.stdout.write(this.lines.join(''));
    this.lines = [];
    this.size = 0;
    if (!taken && !this.draining) {
      this.draining = new Promise<void>((resolve) => {
        const done = () => {
          process.stdout.off('drain', done);
          process.stdout.off('close', done);
          this.draining = undefined;
          resolve();
        };
        process.stdout.on('drain', done);
        // A reader that left: nothing more will drain; the closed-output handling ends the command.
        process.stdout.on('close', done);
      });
    }
  }
}

/** A one-line progress bar on standard error, redrawn at most ten times a second. */
class ProgressLine {
  private last = 0;
  private readonly started = Date.now();
  constructor(private readonly total: number) {}

  update(bytes: number): void {
    const now = Date.now();
    if (now - this.last < 100) return;
    this.last = now;
    const fraction = this.total > 0 ? Math.min(1, bytes / this.total) : 1;
    const width = 30;
    const filled = Math.round(fraction * width);
    const rate = bytes / 1e6 / Math.max(0.001, (now - this.started) / 1000);
    process.stderr.write(
      `\r[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${(fraction * 100).toFixed(0).padStart(3)}%  ${(bytes / 1e6).toFixed(1)}/${(this.total / 1e6).toFixed(1)} MB  ${rate.toFixed(1)} MB/s`,
    );
  }

  done(): void {
    process.stderr.write('\r\x1b[K');
  }
}
