/**
 * What the console gets from the running imspect at start: a narrow, typed view of the engine's live state and
 * its event stream, the archive's query functions, and the policy files. It reaches into no connection.
 */
import type { ImEvent } from '@imspect/sdk';
import type { ArchiveStore } from '@imspect/logger-sql';

export interface OnlineSession {
  id: string;
  protocol: string;
  localId?: string;
  client: { ip: string; port: number };
  server: { host: string; port: number };
  /** Milliseconds since the epoch. */
  since: number;
  clientVersion?: string;
  encrypted?: string;
  intercepted?: boolean;
}

export interface LoggerHealth {
  name: string;
  pending: number;
  delivered: number;
  failures: number;
  lost: number;
  lastError?: string;
  lastErrorAt?: string;
}

export interface JournalUse {
  bytes: number;
  maxBytes: number;
  full: boolean;
  dropped: number;
  writeError?: string;
}

export interface TlsState {
  /** Encrypted connections are decrypted where the rules say so (a CA is loaded). */
  intercepting: boolean;
  /** The default action and the CA's file, in words. */
  summary: string;
}

export interface PluginState {
  name: string;
  kind: string;
  version: string;
  /** `loaded`, `failed`, `disabled`, ... as `imspect plugins list` says. */
  status: string;
  error?: string;
}

export interface LiveSource {
  /** The connections open now (a promise when the engine asks its relay threads). */
  sessions(): OnlineSession[] | Promise<OnlineSession[]>;
  loggers(): LoggerHealth[];
  journal(): JournalUse | undefined;
  tls(): TlsState;
  listeners(): string[];
  /** Every discovered plugin and what became of it (optional: embedders may have none to show). */
  plugins?(): PluginState[];
  /** The CA certificate clients install for TLS interception (PEM), when there is a CA. */
  caCertificate?(): string | undefined;
  /** Every event imspect accepts, as it accepts them; returns the unsubscribe function. */
  onEvents(listener: (events: readonly ImEvent[]) => void): () => void;
}

/** A policy file the console may show and (admins) edit: the same file the filter reads. */
export interface PolicyFile {
  /** Short name in URLs: `badwords`, `acl`. */
  id: string;
  title: string;
  file: string;
  /** Problems with the text as it would be saved, each at its line (1-based); empty: it parses. */
  check(text: string): Array<{ line: number; message: string }>;
  /**
   * For a text kept inside another file (a key of the configuration file): how to read and write it. Without
   * them the console reads `file` and writes it whole (temp file and rename). `write` throws with a message
   * the admin is shown (the file cannot be written, the configuration would not validate).
   */
  read?(): Promise<string>;
  write?(text: string): Promise<void>;
  /** Why the console cannot change this text (shown instead of the save button; a save is refused with it). */
  refusal?: string | undefined;
}

/** One user's entry of the per-user policy (filter-policy's `users.<id>`): the only protocols allowed, and what is blocked. */
export interface UserPolicyEntry {
  protocols?: string[];
  block?: Record<string, boolean>;
}

/** The per-user policy, read and written through its file (the filter's parser checks what is written). */
export interface UserPolicyAccess {
  /** The protocols a user may be limited to, and the kinds of action that can be blocked. */
  protocols: readonly string[];
  blockable: readonly string[];
  get(localId: string): Promise<UserPolicyEntry | null>;
  /** Writes the entry (null or empty: removes it); throws with the parser's message when the result does not parse. */
  set(localId: string, entry: UserPolicyEntry | null): Promise<void>;
}

/** The contacts a user is kept from, as ACL lines `deny USER CONTACT` (the filter's file, checked by its parser). */
export interface BlockedContactsAccess {
  /** Every contact a `deny` rule of the user names (any line of the [all] scope). */
  get(localId: string): Promise<string[]>;
  /** Replaces the user's one-contact `deny` lines at the top of the ACL with these. */
  set(localId: string, contacts: readonly string[]): Promise<void>;
}

export interface PolicyAccess {
  files: readonly PolicyFile[];
  /** Present when an ACL file is configured. */
  blockedContacts?: BlockedContactsAccess | undefined;
  /** Present when a policy file is configured. */
  userPolicy?: UserPolicyAccess | undefined;
  /** Applies what was written: the same reload as SIGHUP. Returns problems the reload reported. */
  reload(): Promise<{ ok: boolean; problems: string[] }>;
}

export interface ConsoleLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export type ArchiveAccess = Pick<ArchiveStore, 'page' | 'activity' | 'localUsers' | 'userDetail' | 'appendAudit' | 'listAudit' | 'kind'>;
