export { Journal, DEFAULT_JOURNAL_OPTIONS, type JournalOptions } from './journal.js';
export { readJournalState, STATE_FILE, type JournalState, type ConsumerState } from './state.js';
export { segmentsOnDisk } from './segments.js';
export { EVENT_RECORD_VERSION, encodeEventRecord, decodeEventRecord } from './event-record.js';
export { journalFolders, relayJournalDir, readJournalStates, combineJournalStates, type JournalStateOf } from './folders.js';
export type { JournalView, JournalBatch } from './view.js';
export { RemoteJournal, serveJournal, type ServedJournal } from './remote.js';
