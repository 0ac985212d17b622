/**
 * A real browser for the console's tests: Debian's chromium driven by playwright-core (no browser download),
 * headless, without the sandbox (CI containers run as root). Suites use {@link chromiumMissing} with
 * describeWithService, so a machine without chromium skips them with the reason, or fails under
 * IMSPECT_REQUIRE_E2E=1 (`.ci/run` installs the package).
 */
import { accessSync, constants } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

const CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser'];

export function chromiumPath(): string | undefined {
  for (const candidate of CANDIDATES) {
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

export const chromiumMissing = chromiumPath() ? undefined : 'chromium is not installed (apt-get install chromium)';

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: chromiumPath()!, headless: true, args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'] });
}
