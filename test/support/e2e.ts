import { accessSync, constants } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'vitest';

/** `.ci/run` sets this: a missing service is then a failure, not a skip. */
export const REQUIRE_E2E = process.env['IMSPECT_REQUIRE_E2E'] === '1';

export function findExecutable(name: string): string | undefined {
  for (const dir of (process.env['PATH'] ?? '').split(path.delimiter).concat(['/usr/sbin', '/sbin'])) {
    const candidate = path.join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this folder
    }
  }
  return undefined;
}

/**
 * A suite that needs a system service. Where `missing` names something absent, the suite is skipped with
 * that reason printed, or fails when IMSPECT_REQUIRE_E2E=1.
 */
export function describeWithService(name: string, missing: string | undefined, body: () => void): void {
  if (missing === undefined) {
    describe(name, body);
    return;
  }
  if (REQUIRE_E2E) {
    describe(name, () => {
      it('has what it needs', () => {
        throw new Error(`IMSPECT_REQUIRE_E2E=1 but ${missing}`);
      });
    });
    return;
  }
  console.warn(`[skip] ${name}: ${missing}`);
  describe.skip(`${name} (skipped: ${missing})`, body);
}
