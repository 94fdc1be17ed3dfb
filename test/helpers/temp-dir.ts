// Temp folders for tests, each removed after the test file that made it: without this every
// suite run left hundreds of folders (gigabytes) in the system temp dir.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const made = new Set<string>();

/** A fresh folder under os.tmpdir(), removed after this test file's tests (or by removeTempDir). */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  made.add(dir);
  return dir;
}

/**
 * Removes a folder and everything in it, retrying while a just-stopped child still writes there.
 * Best effort: a folder that stays is named by the run's temp report (test/global-teardown.ts)
 * rather than failing the tests that used it.
 */
export function removeTempDir(dir: string): void {
  made.delete(dir);
  try {
    rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
  } catch {}
}

// Jest takes hooks while it loads a test file, which is when this module is first imported (one
// module registry per test file). A child process that imports a helper has no afterAll.
if (typeof afterAll === 'function')
  afterAll(() => {
    for (const dir of made) removeTempDir(dir);
  });
