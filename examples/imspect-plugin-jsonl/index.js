// An imspect logger plugin: appends every event to a JSON Lines file. See docs/writing-plugins.md.
import { appendFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { definePlugin, Type } from '@imspect/sdk';

export default definePlugin({
  name: 'jsonl',
  kind: 'logger',
  version: '1.0.0',
  options: Type.Object({
    file: Type.String({ default: 'events.jsonl', description: 'Output file, relative to the data folder' }),
  }),
  async setup({ options, dataDir, logger }) {
    const file = path.resolve(dataDir, options.file);
    await mkdir(path.dirname(file), { recursive: true });
    // Core retries a batch whose write failed, so skip events already written in this run.
    const written = new Set();
    logger.info({ file }, 'writing events as JSON lines');
    return {
      async write(events) {
        const fresh = events.filter((event) => !written.has(event.id));
        if (fresh.length === 0) return;
        await appendFile(file, fresh.map((event) => `${JSON.stringify(event)}\n`).join(''));
        for (const event of fresh) written.add(event.id);
      },
    };
  },
});
