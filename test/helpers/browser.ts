// Launches Debian's chromium through playwright-core for browser tests. CI installs it
// (scripts/ci/10-chromium.sh); when CI is set a missing browser fails the test instead of skipping.
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, chromium } from 'playwright-core';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const TEST_RESULTS_DIR = join(__dirname, '..', '..', 'test-results');

export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(
      `chromium not found at ${CHROMIUM_PATH}: run 'apt-get install -y chromium' (see scripts/ci/10-chromium.sh)`,
    );
  }
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}

/** Where screenshots for people go; created on demand. */
export function screenshotPath(name: string): string {
  mkdirSync(TEST_RESULTS_DIR, { recursive: true });
  return join(TEST_RESULTS_DIR, name);
}
