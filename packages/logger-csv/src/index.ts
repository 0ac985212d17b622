/**
 * @imspect/logger-csv: logs every event as a row of an IMSpector-compatible CSV file,
 * `{dir}/{protocol}/{localId}/{remoteId}/{YYYY-MM-DD}.csv`. See README.md for the columns and the id encoding.
 */
import { definePlugin } from '@imspect/sdk';
import { CsvLogger } from './logger.js';
import { optionsSchema, resolveOptions } from './options.js';

export default definePlugin({
  name: 'logger-csv',
  kind: 'logger',
  options: optionsSchema,
  setup(ctx) {
    const config = resolveOptions(ctx.options, ctx.dataDir);
    const logger = new CsvLogger(config, ctx.logger, ctx.name || 'logger-csv');
    ctx.logger.debug({ dir: config.root }, 'logging to CSV files');
    // Plain functions, so that the hooks work however core calls them.
    return {
      write: (events) => logger.write(events),
      flush: () => logger.flush(),
      close: () => logger.close(),
    };
  },
});

export { CsvLogger, ID_FILE } from './logger.js';
export { COLUMNS, eventFields, eventData, typeCode } from './row.js';
export { csvField, csvRow } from './csv.js';
export { encodeSegment, decodeSegment, MAX_SEGMENT_BYTES, type EncodedSegment } from './segment.js';
export { optionsSchema, resolveOptions, DEFAULT_OPTIONS, type CsvLoggerOptions, type CsvLoggerConfig } from './options.js';
