/**
 * A journal owned by a relay worker thread, read by the loggers on the main thread over a `MessagePort`.
 *
 * The worker journals (and forwards) its own connections' events; `serveJournal` answers the main thread's
 * reads and applies its acknowledgements to that journal, which deletes segments once every logger is past
 * them, as for a local one. `RemoteJournal` is the main side: a `JournalView` whose `pending`, `position` and
 * `consumerState` answer at once from a mirror. Positions move with main's own acks; the head, the counters
 * and the journal's size come from the worker, one message per turn of its event loop at most, not one per
 * event. A batch crosses as the journal's encoded records in one transferred buffer, decoded on the main
 * thread: cheaper there than structured-cloning the event objects (figures in docs/design.md, Logs). The worker
 * sends the records as stored (`Journal.readRecords`), without decoding or encoding events; on the main side the
 * loggers reading the same events share one request and one decoded batch.
 */
import type { MessagePort } from 'node:worker_threads';
import type { ImEvent, PluginLogger } from '@imspect/sdk';
import { decodeEventRecord, encodeEventRecord } from './event-record.js';
import { decodeRecords, encodeTextRecords } from './record.js';
import type { RecordBatch } from './journal.js';
import type { ConsumerState, JournalState } from './state.js';
import type { JournalBatch, JournalView } from './view.js';

/** What `serveJournal` needs of the worker's journal (a `Journal`; tests may serve a stand-in). */
export type ServedJournal = Pick<JournalView, 'name' | 'durable' | 'read' | 'ack' | 'recordFailure' | 'onEventsReadable' | 'snapshot' | 'close'> & {
  /** The records as stored, when the journal can give them (a `Journal` can): else its events are encoded. */
  readRecords?(from: number, max: number): RecordBatch | Promise<RecordBatch>;
};

/** The worker's journal as the main thread mirrors it. */
interface StateMessage {
  t: 'state';
  name: string;
  durable: boolean;
  state: JournalState;
}

type WorkerMessage = StateMessage | { t: 'batch'; id: number; first: number; records: ArrayBuffer } | { t: 'error'; id: number; message: string } | { t: 'closed'; id: number };

type MainMessage =
  | { t: 'read'; id: number; from: number; max: number }
  | { t: 'ack'; consumer: string; position: number; from?: number }
  | { t: 'failure'; consumer: string; message: string }
  | { t: 'close'; id: number };

/** While nothing else reports, the worker still posts a changed state this often (full, deleted segments). */
const STATE_CHECK_MS = 500;

/**
 * Worker side: answers the main thread's requests on `port` from `journal`, and tells it when events become
 * readable or the journal's state changes. Ends when the main side asks it to close the journal (or the port
 * closes); returns what stops serving without closing the journal.
 */
export function serveJournal(journal: ServedJournal, port: MessagePort): () => void {
  let scheduled = false;
  let lastSent = '';
  let stopped = false;
  const sendState = () => {
    scheduled = false;
    if (stopped) return;
    const state = journal.snapshot();
    // `updatedAt` changes at every call: it alone is no news.
    const signature = JSON.stringify({ ...state, updatedAt: '' });
    if (signature === lastSent) return;
    lastSent = signature;
    post({ t: 'state', name: journal.name, durable: journal.durable, state });
  };
  // Coalesced: a burst of commits in one turn of the loop is one message.
  const stateSoon = () => {
    if (scheduled || stopped) return;
    scheduled = true;
    setImmediate(sendState);
  };
  const post = (message: WorkerMessage, transfer?: ArrayBuffer[]) => {
    try {
      port.postMessage(message, transfer);
    } catch {
      // The port is closing: the main side rejects what it still waits for.
    }
  };
  const unsubscribe = journal.onEventsReadable(stateSoon);
  const timer = setInterval(stateSoon, STATE_CHECK_MS);
  timer.unref();
  const stop = () => {
    if (stopped) return;
    stopped = true;
    unsubscribe();
    clearInterval(timer);
    port.off('message', onMessage);
  };
  const onMessage = (message: MainMessage) => {
    try {
      handle(message);
    } catch (error) {
      // A request the journal refuses (an unknown consumer): the main side logs it; the worker goes on.
      post({ t: 'error', id: 0, message: errorText(error) });
    }
  };
  const handle = (message: MainMessage) => {
    switch (message?.t) {
      case 'read':
        void answerRead(journal, message.id, message.from, message.max, post).finally(stateSoon);
        return;
      case 'ack':
        journal.ack(message.consumer, message.position, message.from);
        stateSoon();
        return;
      case 'failure':
        journal.recordFailure(message.consumer, message.message);
        stateSoon();
        return;
      case 'close':
        stop();
        journal.close().then(
          () => {
            post({ t: 'state', name: journal.name, durable: journal.durable, state: journal.snapshot() });
            post({ t: 'closed', id: message.id });
            port.close();
          },
          (error: unknown) => {
            post({ t: 'error', id: message.id, message: errorText(error) });
            port.close();
          },
        );
        return;
    }
  };
  port.on('message', onMessage);
  port.once('close', stop);
  sendState();
  return stop;
}

async function answerRead(journal: ServedJournal, id: number, from: number, max: number, post: (m: WorkerMessage, t?: ArrayBuffer[]) => void): Promise<void> {
  try {
    let first: number;
    let records: ArrayBuffer;
    if (journal.readRecords) {
      const batch = await journal.readRecords(from, max);
      first = batch.first;
      records = joinChunks(batch.chunks);
    } else {
      const batch = await journal.read(from, max);
      first = batch.first;
      records = ownArrayBuffer(encodeTextRecords(batch.events.map(encodeEventRecord)));
    }
    post({ t: 'batch', id, first, records }, [records]);
  } catch (error) {
    post({ t: 'error', id, message: errorText(error) });
  }
}

/** One transferable buffer of the chunks (the single chunk itself when it owns its memory). */
function joinChunks(chunks: readonly Buffer[]): ArrayBuffer {
  if (chunks.length === 1) return ownArrayBuffer(chunks[0]!);
  let total = 0;
  for (const chunk of chunks) total += chunk.length;
  const joined = new Uint8Array(total);
  let at = 0;
  for (const chunk of chunks) {
    joined.set(chunk, at);
    at += chunk.length;
  }
  return joined.buffer;
}

/** A buffer that may be transferred: a small `Buffer` is a view into a pool shared with other buffers. */
function ownArrayBuffer(bytes: Buffer): ArrayBuffer {
  if (bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && bytes.buffer instanceof ArrayBuffer) return bytes.buffer;
  const copy = new ArrayBuffer(bytes.byteLength);
  new Uint8Array(copy).set(bytes);
  return copy;
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

interface Request {
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
  what: string;
}

/**
 * Main side: a worker's journal, over the other end of the port given to `serveJournal`. Created with
 * {@link RemoteJournal.connect}, which waits for the worker's first state (the consumers and their positions).
 */
export class RemoteJournal implements JournalView {
  private state: JournalState;
  private worker: { name: string; durable: boolean };
  /** Positions main acknowledged: ahead of the worker's report until it has applied them. */
  private readonly acked = new Map<string, number>();
  private readonly listeners = new Set<() => void>();
  private readonly requests = new Map<number, Request>();
  private nextId = 1;
  /** Batches read lately (see {@link read}), oldest first. */
  private readonly shared: SharedBatch[] = [];
  private gone: string | undefined;
  private closing: Promise<void> | undefined;

  private constructor(
    private readonly port: MessagePort,
    first: StateMessage,
    private readonly log: PluginLogger,
  ) {
    this.state = first.state;
    this.worker = { name: first.name, durable: first.durable };
    port.on('message', (message: WorkerMessage) => this.receive(message));
    port.once('close', () => this.lost(`journal ${this.name}: its worker is gone (the port closed); its events stay on disk for the next start`));
  }

  /** Resolves once the worker's first state arrived; rejects when the port closes first or `timeoutMs` passes. */
  static connect(port: MessagePort, log: PluginLogger, timeoutMs = 10_000): Promise<RemoteJournal> {
    return new Promise((resolve, reject) => {
      const done = () => {
        clearTimeout(timer);
        port.off('message', onMessage);
        port.off('close', onClose);
      };
      const onMessage = (message: WorkerMessage) => {
        if (message?.t !== 'state') return;
        done();
        resolve(new RemoteJournal(port, message, log));
      };
      const onClose = () => {
        done();
        reject(new Error('journal: the worker closed its port before reporting its journal'));
      };
      const timer = setTimeout(() => {
        done();
        port.close();
        reject(new Error(`journal: the worker did not report its journal within ${timeoutMs} ms`));
      }, timeoutMs);
      port.on('message', onMessage);
      port.once('close', onClose);
    });
  }

  get name(): string {
    return this.worker.name;
  }

  get durable(): boolean {
    return this.worker.durable;
  }

  get available(): boolean {
    return this.gone === undefined && this.closing === undefined;
  }

  consumers(): string[] {
    return Object.keys(this.state.consumers);
  }

  position(consumer: string): number {
    return Math.max(this.reported(consumer).position, this.acked.get(consumer) ?? 0);
  }

  pending(consumer: string): number {
    return Math.max(0, this.state.head - this.position(consumer));
  }

  consumerState(consumer: string): ConsumerState {
    return { ...this.reported(consumer), position: this.position(consumer) };
  }

  /**
   * Loggers that keep up read the same events one after the other: the first read of a range asks the worker,
   * the others get the same decoded batch (the same array and events: loggers get them read-only). A read that
   * starts inside a batch read lately gets the rest of it, which brings a logger back in step with the others.
   */
  read(from: number, max: number): Promise<JournalBatch> {
    // Once closed or gone, reads fail (below), even of what is still at hand.
    for (const entry of this.available ? this.shared : []) {
      const batch = entry.batch;
      if (batch ? batch.first <= from && from < batch.first + batch.events.length : entry.from === from) {
        return batch ? Promise.resolve(partOf(batch, from, max)) : entry.promise.then((b) => partOf(b, from, max));
      }
    }
    const entry: SharedBatch = { from, promise: Promise.resolve({ first: from, events: [] }) };
    entry.promise = this.request<{ first: number; records: ArrayBuffer }>({ t: 'read', id: 0, from, max }, `reading events from ${from}`).then(
      ({ first, records }) => {
        entry.batch = { first, events: decodeBatch(records) };
        this.forgetPassedBatches();
        return entry.batch;
      },
      (error: unknown) => {
        this.forgetBatch(entry);
        throw error;
      },
    );
    this.shared.push(entry);
    // A logger that stalls keeps its batches: a bounded few, the oldest going first.
    if (this.shared.length > MAX_SHARED_BATCHES) this.shared.shift();
    return entry.promise;
  }

  ack(consumer: string, position: number, from?: number): void {
    this.reported(consumer); // an unknown consumer is a bug here, as for a local journal
    if (position > (this.acked.get(consumer) ?? 0)) this.acked.set(consumer, position);
    this.forgetPassedBatches();
    this.send({ t: 'ack', consumer, position, ...(from !== undefined ? { from } : {}) });
  }

  recordFailure(consumer: string, message: string): void {
    this.send({ t: 'failure', consumer, message });
  }

  onEventsReadable(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  snapshot(): JournalState {
    const consumers = Object.fromEntries(Object.keys(this.state.consumers).map((name) => [name, this.consumerState(name)]));
    return { ...this.state, consumers };
  }

  /** Asks the worker to close its journal (after its last state) and resolves once it has; a gone worker is no error. */
  close(): Promise<void> {
    this.closing ??= this.gone
      ? Promise.resolve()
      : this.request({ t: 'close', id: 0 }, 'closing the journal').then(
          () => undefined,
          (error: Error) => {
            if (this.gone === undefined) throw error;
          },
        );
    return this.closing;
  }

  /** Batches every logger is past are read by none again. */
  private forgetPassedBatches(): void {
    if (this.shared.length === 0) return;
    let min = Number.POSITIVE_INFINITY;
    for (const consumer of this.consumers()) min = Math.min(min, this.position(consumer));
    for (const entry of [...this.shared]) {
      if (entry.batch && entry.batch.first + entry.batch.events.length <= min) this.forgetBatch(entry);
    }
  }

  private forgetBatch(entry: SharedBatch): void {
    const at = this.shared.indexOf(entry);
    if (at >= 0) this.shared.splice(at, 1);
  }

  private reported(consumer: string): ConsumerState {
    const state = this.state.consumers[consumer];
    if (!state) throw new Error(`journal ${this.name}: unknown consumer "${consumer}"`);
    return state;
  }

  private request<T>(message: Extract<MainMessage, { id: number }>, what: string): Promise<T> {
    if (this.gone !== undefined) return Promise.reject(new Error(`${this.gone} (${what})`));
    if (this.closing !== undefined && message.t !== 'close') return Promise.reject(new Error(`journal ${this.name}: closed (${what})`));
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.requests.set(id, { resolve: resolve as (value: unknown) => void, reject, what });
      this.send({ ...message, id } as MainMessage);
    });
  }

  private send(message: MainMessage): void {
    if (this.gone !== undefined) return;
    try {
      this.port.postMessage(message);
    } catch (error) {
      this.lost(`journal ${this.name}: its port refused a message (${errorText(error)})`);
    }
  }

  private receive(message: WorkerMessage): void {
    switch (message?.t) {
      case 'state':
        this.state = message.state;
        for (const listener of this.listeners) {
          try {
            listener();
          } catch (error) {
            this.log.error({ err: error, journal: this.name }, 'journal: a listener for new events failed');
          }
        }
        return;
      case 'batch':
        this.settle(message.id)?.resolve({ first: message.first, records: message.records });
        return;
      case 'closed':
        this.settle(message.id)?.resolve(undefined);
        this.port.close();
        return;
      case 'error': {
        const request = this.settle(message.id);
        if (request) request.reject(new Error(`journal ${this.name}: ${request.what} failed in its worker: ${message.message}`));
        else this.log.error({ journal: this.name, error: message.message }, `journal ${this.name}: its worker refused a request: ${message.message}`);
        return;
      }
    }
  }

  private settle(id: number): Request | undefined {
    const request = this.requests.get(id);
    this.requests.delete(id);
    return request;
  }

  /** The port is gone: every request waiting fails (delivery retries, then stops; the events stay on disk). */
  private lost(why: string): void {
    if (this.gone !== undefined) return;
    this.gone = why;
    this.shared.length = 0;
    for (const [id, request] of this.requests) {
      this.requests.delete(id);
      request.reject(new Error(`${why} (${request.what})`));
    }
  }
}

/** A batch read once for every logger that reads its events. */
interface SharedBatch {
  /** Where the read started (`batch.first` is past it only after events a damaged journal lost). */
  from: number;
  promise: Promise<JournalBatch>;
  /** Once it arrived. */
  batch?: JournalBatch;
}

/** Batches kept for loggers that have not read them yet: a few per logger at most (two by default). */
const MAX_SHARED_BATCHES = 8;

/** Up to `max` events of `batch` from `from` on (the batch itself when that is all of it). */
function partOf(batch: JournalBatch, from: number, max: number): JournalBatch {
  const start = Math.max(0, from - batch.first);
  if (start === 0 && batch.events.length <= max) return batch;
  return { first: batch.first + start, events: batch.events.slice(start, start + max) };
}

function decodeBatch(records: ArrayBuffer): ImEvent[] {
  const decoded = decodeRecords(Buffer.from(records));
  // The bytes never touched a disk: a problem here is a bug, not damage to skip.
  if (decoded.problem) throw new Error(`journal: a batch from a worker is not whole (${decoded.problem})`);
  return decoded.payloads.map((p) => decodeEventRecord(p.toString('utf8')));
}
