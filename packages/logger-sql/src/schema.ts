/** The archive's tables, as Kysely sees them. */
import type { Generated } from 'kysely';

export interface MessagesTable {
  id: Generated<number>;
  /** imspect's event id (UUIDv7): unique, so a batch delivered twice is stored once. */
  event_id: string;
  /** IMSpector's column: unix time in seconds. */
  timestamp: number;
  /** Milliseconds since the epoch: ordering and time ranges. */
  at_ms: number;
  /** ISO 8601 time, as the event has it. */
  at: string;
  /** IMSpector's columns from here (clientaddress, protocolname, outgoing, type, localid, remoteid, filtered, categories, eventdata). */
  client_address: string;
  protocol: string;
  outgoing: number;
  type: number;
  local_id: string;
  remote_id: string;
  filtered: number;
  categories: string;
  event_data: string;
  /** imspect's additions. */
  direction: string;
  type_name: string;
  subtype: string | null;
  conversation: string | null;
  text: string | null;
  delivered_text: string | null;
  file_name: string | null;
  file_size: number | null;
  server: string;
  /** The event's data pairs as a JSON object text (since migration 0005; a `key=value` string before). */
  data: string | null;
  /** Where the ids are valid, for protocols whose ids are per network (IRC); null for the others (migration 0004). */
  network: string | null;
  /** SHA-256 (hex) of `messageCopyIdentity` (participant, `messageKey`, delivered text): unique per `local_id`, so the copies of a message are one row. */
  message_key: string | null;
  /** The devices the message reached, space-separated, each percent-encoded like a `data` value. */
  devices: string | null;
}

export interface Database {
  messages: MessagesTable;
  console_audit: import('./audit.js').AuditTable;
}

export type MessageRow = Omit<MessagesTable, 'id'>;
