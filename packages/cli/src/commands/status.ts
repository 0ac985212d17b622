import { Command } from '@oclif/core';
import path from 'node:path';
import { configFlag, loadConfigOrExit } from '../shared.js';

function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

/** The connection limits this configuration sets (the running process computes `auto` from its own open-file limit). */
function limitsOf(c: { maxConnections: 'auto' | number; maxPerClient: number; handshakeTimeoutMs: number; idleTimeoutMs: number }) {
  return { maxConnections: c.maxConnections, maxPerClient: c.maxPerClient, handshakeTimeoutMs: c.handshakeTimeoutMs, idleTimeoutMs: c.idleTimeoutMs };
}

export default class Status extends Command {
  static override summary = "Delivery state: events waiting for each logger, their last error, the journal's size";
  static override description =
    "Reads the journals' state files (state.json in the journal folder and in each relay worker's relay-<i> folder, rewritten by the running imspect as delivery progresses, at most about a second behind), so it needs no connection to the running process and also works while imspect is stopped: events still waiting then are delivered at the next start.";
  static override examples = ['<%= config.bin %> status', '<%= config.bin %> status --json'];
  static override enableJsonFlag = true;
  static override flags = { config: configFlag };

  async run(): Promise<unknown> {
    const { flags } = await this.parse(Status);
    // The journal's and the limits' modules only (not the whole runtime): `status` is a quick look.
    const [{ readJournalStates, combineJournalStates, segmentsOnDisk }, { formatDuration }] = await Promise.all([import('@imspect/core/journal'), import('@imspect/core/limits')]);
    const loaded = await loadConfigOrExit(flags.config);
    const journalConfig = loaded.config.loggers.journal;
    const dir = path.resolve(loaded.dataDir, journalConfig.dir);
    // The main thread's journal and one per relay worker thread (`relay-<i>`): what each logger has left in all.
    const states = await readJournalStates(dir);
    const state = combineJournalStates(states.map((s) => s.state));
    if (!state) {
      const result = { journal: dir, running: false, state: null };
      if (!this.jsonEnabled())
        this.log(`No journal state in ${dir}: imspect has not run with this configuration yet${journalConfig.enabled ? '' : ' (loggers.journal.enabled is false)'}.`);
      return result;
    }
    const disk = (await Promise.all(states.map((s) => segmentsOnDisk(s.dir)))).reduce((a, b) => ({ count: a.count + b.count, bytes: a.bytes + b.bytes }));
    const alive = running(state.pid) && state.pid !== process.pid;
    const loggers = Object.entries(state.consumers).map(([name, c]) => ({
      name,
      pending: Math.max(0, state.head - c.position),
      position: c.position,
      delivered: c.delivered,
      failures: c.failures,
      lost: c.lost ?? 0,
      lastError: c.lastError ?? null,
      lastErrorAt: c.lastErrorAt ?? null,
    }));
    const result = {
      journal: dir,
      running: alive,
      pid: state.pid,
      updatedAt: state.updatedAt,
      head: state.head,
      bytes: disk.bytes,
      segments: disk.count,
      maxBytes: state.maxBytes,
      full: state.full,
      onFull: state.onFull,
      dropped: state.dropped,
      // Set while the disk refuses the journal's writes (ENOSPC: disk full, EDQUOT, EIO, EFBIG ...).
      diskError: state.writeError ?? null,
      // False once any event was not logged: dropped for every logger, or given up for one that was behind.
      complete: state.dropped === 0 && loggers.every((l) => l.lost === 0),
      loggers,
      connections: limitsOf(loaded.config.connections),
    };
    if (!this.jsonEnabled()) {
      this.log(`imspect ${alive ? `running (pid ${state.pid})` : 'not running'}; state of ${state.updatedAt}`);
      this.log(`journal:  ${dir}  ${mib(disk.bytes)} of ${mib(state.maxBytes)} in ${disk.count} segment(s)${state.full ? `  FULL (onFull: ${state.onFull})` : ''}`);
      if (state.writeError) {
        const what = state.writeError.code === 'ENOSPC' || state.writeError.code === 'EDQUOT' ? 'DISK FULL' : 'DISK ERROR';
        this.log(`          ${what}: the disk refuses the journal's writes since ${state.writeError.since} (${state.writeError.code}: ${state.writeError.message})`);
      }
      if (state.dropped > 0) this.log(`          EVENTS LOST: ${state.dropped} events were not journaled, so no logger has them (the disk refused them or the journal was full)`);
      const c = result.connections;
      this.log(
        `limits:   ${c.maxConnections === 'auto' ? 'auto connections (from the open-file limit; the start-up summary has the number)' : `${c.maxConnections} connections`}, ${c.maxPerClient === 0 ? 'no limit' : c.maxPerClient} per client, handshake ${formatDuration(c.handshakeTimeoutMs)}, idle ${c.idleTimeoutMs === 0 ? 'never closed' : formatDuration(c.idleTimeoutMs)} (configured)`,
      );
      for (const l of loggers) {
        this.log(
          `logger ${l.name}: ${l.pending} waiting${alive ? '' : ' (delivered at the next start)'}, ${l.delivered} stored since start, ${l.failures} failed writes${l.lost > 0 ? `, EVENTS LOST: ${l.lost} given up for it (it was behind while the journal was full)` : ''}`,
        );
        if (l.lastError) this.log(`  last error (${l.lastErrorAt}): ${l.lastError}`);
      }
    }
    return result;
  }
}
