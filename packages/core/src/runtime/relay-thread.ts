/**
 * A relay thread (see relay-workers.ts): an engine that binds, relays and journals, with no logger of its own.
 * Its operational log goes to the main thread; its journal is read by the main thread's loggers through the
 * port it gets at set-up; changes to the state the threads keep alike go to the main thread, which passes them
 * on.
 *
 * Forward listeners are bound by the first thread only: a protocol that hands clients from one server to the
 * next (MSN's XFR/RNG, OSCAR's BOS hand-off) remembers in its plugin where the next connection goes, and that
 * next connection must reach the same plugin instance.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { ImEvent } from '@imspect/sdk';
import { Engine } from './engine.js';
import { PortLogger } from './port-logger.js';
import { containStrayErrors } from './stray-errors.js';
import { toThreadError, type FromThread, type RelayThreadData, type ThreadRequest, type ToThread } from './thread-messages.js';
import { serveJournal } from '../journal/remote.js';

const port = parentPort;
if (!port) throw new Error('relay-thread.js runs as a worker thread of imspect start');
const data = workerData as RelayThreadData;
const post = (message: FromThread) => port.postMessage(message);
const log = new PortLogger(post, data.logLevel, { thread: data.index + 1 });

const engine = new Engine({
  loaded: data.loaded,
  logger: log,
  pluginRoots: data.pluginRoots,
  ...(data.builtinFrom !== undefined ? { builtinFrom: data.builtinFrom } : {}),
  debug: data.debug,
  skipKinds: ['logger'],
  ...(data.hookTimeouts ? { hookTimeouts: data.hookTimeouts } : {}),
  thread: {
    index: data.index,
    listeners: data.listeners,
    ...(data.sharedCounts ? { sharedCounts: data.sharedCounts } : {}),
    ...(data.upstreamPorts ? { upstreamPorts: data.upstreamPorts } : {}),
    share: (change) => post({ type: 'share', change }),
  },
});
containStrayErrors(log, () => engine.plugins);

let unwatch: (() => void) | undefined;
const watchEvents = (on: boolean) => {
  unwatch?.();
  unwatch = undefined;
  if (on && engine.sink) unwatch = engine.onEvents((events: readonly ImEvent[]) => post({ type: 'events', events: events as ImEvent[] }));
};

/** What the main thread may ask, and how it is answered. */
const requests: Record<ThreadRequest, () => unknown> = {
  sessions: () => engine.sessions(),
  reload: () => engine.reload(),
  'stop-relay': () => engine.stopRelay(),
  close: () => engine.closeThread(),
};

async function answer(id: number, run: () => unknown): Promise<void> {
  try {
    post({ type: 'reply', id, ok: true, value: await run() });
  } catch (error) {
    post({ type: 'reply', id, ok: false, error: toThreadError(error) });
  }
}

port.on('message', (message: ToThread) => {
  switch (message.type) {
    case 'setup':
      engine.setUpThread(message.consumers).then(
        () => {
          serveJournal(engine.sink!.journal, message.journal);
          post({ type: 'ready', plugins: engine.plugins });
        },
        (error: unknown) => post({ type: 'failed', error: toThreadError(error) }),
      );
      return;
    case 'share':
      engine.applyShared(message.change);
      return;
    case 'watch-events':
      watchEvents(message.on);
      return;
    case 'request': {
      const answered = answer(message.id, requests[message.what]);
      // Plugins may keep timers or sockets: after `close` the thread ends here rather than when they let it.
      if (message.what === 'close') void answered.then(() => setImmediate(() => process.exit(0)));
      return;
    }
  }
});

engine.bindThread().then(
  (listeners) => post({ type: 'bound', listeners }),
  (error: unknown) => {
    post({ type: 'failed', error: toThreadError(error) });
    // The listeners bound before the one that failed would keep this thread (and the process) running, and
    // no plugin is set up yet: the thread ends here (after the message is on its way).
    setImmediate(() => process.exit(1));
  },
);
