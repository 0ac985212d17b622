import { readFileSync } from 'node:fs';

/** The version of @imspect/core, checked against each plugin's `imspect.host` range. */
export const HOST_VERSION: string = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
