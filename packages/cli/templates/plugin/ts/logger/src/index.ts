import { appendFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { definePlugin, type ImEvent, Type } from '@imspect/sdk';

export default definePlugin({
  name: '__PLUGIN_NAME__',
  kind: 'logger',
  options: Type.Object({
    file: Type.String({ default: 'events.jsonl', description: 'Output file, relative to the data folder' }),
  }),
  async setup({ options, dataDir, logger }) {
    const file = path.resolve(dataDir, options.file);
    await mkdir(path.dirname(file), { recursive: true });
    // imspect retries a batch whose write failed: store each event once, by its id.
    const written = new Set<string>();
    logger.info({ file }, 'writing events as JSON lines');
    return {
      async write(events: readonly ImEvent[]) {
        const fresh = events.filter((event) => !written.has(event.id));
        if (fresh.length === 0) return;
        await appendFile(file, fresh.map((event) => `${JSON.stringify(event)}\n`).join(''));
        for (const event of fresh) written.add(event.id);
      },
    };
  },
});
