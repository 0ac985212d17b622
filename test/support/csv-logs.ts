import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';

export interface CsvLogRow {
  /**
   * Folder names under the log directory: protocol, network (IRC: `{protocol}/{network}/...`; '' for protocols
   * filed without one), localId, remoteId (as encoded on disk), and the file's day.
   */
  protocol: string;
  networkDir: string;
  localDir: string;
  remoteDir: string;
  day: string;
  client: string;
  unixTime: number;
  outgoing: boolean;
  type: number;
  filtered: boolean;
  categories: string;
  eventData: string;
  text: string;
  eventId: string;
  subtype: string;
  conversation: string;
  deliveredText: string;
  server: string;
  data: string;
}

/** RFC 4180 reader: quoted fields with doubled quotes, CR/LF inside quotes. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else field += c;
  }
  if (field !== '' || row.length > 0) {
    row.push(field);
    rows.push(row);
  }
  return rows;
}

/** Every row of every CSV file under `dir` (the CSV logger's layout). */
export async function readCsvLogs(dir: string): Promise<CsvLogRow[]> {
  const rows: CsvLogRow[] = [];
  const files = (await readdir(dir, { recursive: true, withFileTypes: true })).filter((e) => e.isFile() && e.name.endsWith('.csv'));
  for (const file of files) {
    const full = path.join(file.parentPath ?? (file as unknown as { path: string }).path, file.name);
    const parts = path.relative(dir, full).split(path.sep);
    // {protocol}/{localId}/{remoteId}/day.csv, or with the network folder {protocol}/{network}/{localId}/{remoteId}/day.csv.
    const [protocol, networkDir, localDir, remoteDir] = parts.length === 5 ? parts : [parts[0], '', parts[1], parts[2]];
    for (const cells of parseCsv(await readFile(full, 'utf8'))) {
      rows.push({
        protocol: protocol!,
        networkDir: networkDir!,
        localDir: localDir!,
        remoteDir: remoteDir!,
        day: file.name.replace(/\.csv$/, ''),
        client: cells[0]!,
        unixTime: Number(cells[1]),
        outgoing: cells[2] === '1',
        type: Number(cells[3]),
        filtered: cells[4] === '1',
        categories: cells[5]!,
        eventData: cells[6]!,
        text: cells[7]!,
        eventId: cells[8]!,
        subtype: cells[9]!,
        conversation: cells[10]!,
        deliveredText: cells[11]!,
        server: cells[12]!,
        data: cells[13]!,
      });
    }
  }
  return rows;
}
