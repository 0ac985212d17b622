// TEMPORARY shim until the remote journal lands (h/remote).
import type { MessagePort } from 'node:worker_threads';
import type { Journal } from './journal.js';
export function serveJournal(_journal: Journal, _port: MessagePort): () => void {
  return () => undefined;
}
export class RemoteJournal {
  constructor(_port: MessagePort, _consumers: readonly string[]) {}
}
export async function journalFolders(_dir: string): Promise<string[]> {
  return [];
}
