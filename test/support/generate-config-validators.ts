/**
 * Vitest global setup: the configuration's validators as `pnpm build` makes them, written beside the sources, so
 * the tests (which run the sources) validate with the same standalone code imspect ships, generated from the
 * schema as it is now.
 */
import { writeFileSync } from 'node:fs';
import { GENERATED_FILE } from '../../packages/core/src/config/config-validators.js';
import { configValidatorSource } from '../../packages/core/src/config/validator-source.js';

export default function generateConfigValidators(): void {
  writeFileSync(new URL(`../../packages/core/src/config/${GENERATED_FILE}`, import.meta.url), configValidatorSource());
}
