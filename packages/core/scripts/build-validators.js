// Writes the configuration's validators as standalone code into dist (run by `pnpm build` after tsc): loading
// them costs a few milliseconds, where importing Ajv and compiling the schema cost about 60 ms at every start.
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { configValidatorSource } from '../dist/config/validator-source.js';
import { GENERATED_FILE } from '../dist/config/config-validators.js';

const target = fileURLToPath(new URL(`../dist/config/${GENERATED_FILE}`, import.meta.url));
writeFileSync(target, configValidatorSource());
console.log(`config validators: ${target}`);
