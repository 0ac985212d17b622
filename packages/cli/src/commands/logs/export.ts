import { Command, Flags } from '@oclif/core';
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import type { ArchivedMessage } from '@imspect/logger-sql';
import { filterFlags, openConfiguredArchive } from '../../archive-query.js';
import { isClosedOutput, outputWriter } from '../../closed-output.js';
import { configFlag, explain, failWith } from '../../shared.js';

const CSV_COLUMNS = [
  'eventId',
  'at',
  'timestamp',
  'protocol',
  'direction',
  'type',
  'typeCode',
  'subtype',
  'localId',
  'remoteId',
  'conversation',
  'text',
  'deliveredText',
  'fileName',
  'fileSize',
  'client',
  'server',
  'filtered',
  'categories',
  'eventData',
  'data',
  'network',
  'devices',
] as const;

/**
 * RFC 4180: every field quoted, quotes doubled; a leading formula character is not altered (this is an export, not
 * a spreadsheet). Lists are joined with `;`; the data pairs are a JSON object (types kept: `{"port":5000}`).
 */
export function csvField(value: unknown): string {
  const text = value === null || value === undefined ? '' : Array.isArray(value) ? value.join(';') : typeof value === 'object' ? JSON.stringify(value) : String(value);
  return `"${text.replaceAll('"', '""')}"`;
}

export default class LogsExport extends Command {
  static override summary = 'Export a search of the SQL archive as CSV or JSON Lines';
  static override description = 'Takes the same filters as `imspect logs search`; writes every match (no limit unless --limit), oldest first, to standard output or --output.';
  static override examples = [
    '<%= config.bin %> logs export --format csv --user alice --since 7d > alice.csv',
    '<%= config.bin %> logs export --format jsonl --text "project x" --output projectx.jsonl',
  ];
  static override flags = {
    config: configFlag,
    ...filterFlags,
    format: Flags.string({ options: ['csv', 'jsonl'], default: 'csv', description: 'csv (a header row, then one row per event) or jsonl (one JSON object per line)' }),
    output: Flags.string({ char: 'o', description: 'file to write (default: standard output)', helpValue: 'FILE' }),
    limit: Flags.integer({ description: 'most results (the newest); 0 = all', default: 0, min: 0 }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(LogsExport);
    const { archive, query } = await openConfiguredArchive(flags.config, flags, flags.limit);
    const out: Writable = flags.output ? createWriteStream(flags.output) : process.stdout;
    const write = outputWriter(out);
    const format = (m: ArchivedMessage) => (flags.format === 'csv' ? `${CSV_COLUMNS.map((c) => csvField(m[c])).join(',')}\r\n` : `${JSON.stringify(m)}\n`);
    let written = 0;
    try {
      if (flags.format === 'csv') await write(`${CSV_COLUMNS.join(',')}\r\n`);
      // Without a limit, every match is walked a page at a time (bounded memory); with one, the newest N.
      const pages = flags.limit > 0 ? [await archive.search(query)] : archive.iterate(query);
      for await (const page of pages) {
        for (const m of page) await write(format(m));
        written += page.length;
      }
    } catch (error) {
      await archive.close().catch(() => undefined);
      // The reader closed the output (`| head`): leaving the loop stopped reading the archive; nothing failed.
      if (isClosedOutput(error)) return;
      failWith(new Error(`export failed after ${written} events: ${explain(error)}`), 1);
    }
    await archive.close();
    if (flags.output) {
      out.end();
      await once(out, 'finish');
      process.stderr.write(`imspect: ${written} events written to ${flags.output}\n`);
    }
  }
}
