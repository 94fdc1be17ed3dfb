// Temp folders for tests, each removed after the test file that made it: without this every
// suite run left hundreds of folders (gigabytes) in the system temp dir.
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';

const made = new Set<string>();

/** A fresh folder under os.tmpdir(), removed after this test file's tests (or by removeTempDir). */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  made.add(dir);
  return dir;
}

/**
 * Makes `dir` to be a CLI child's own TMPDIR (a test then sees what the CLI left there), sharing
 * this run's tsx compile cache: tsx keeps it in <tmpdir>/tsx-<uid>, and in an empty TMPDIR a
 * `benchfleet` child compiles every module of the CLI again, about a second more per child.
 */
export function cliTmpDir(dir: string): string {
  mkdirSync(dir, { recursive: true });
  const cache = `tsx-${process.geteuid?.() ?? userInfo().username}`;
  mkdirSync(join(tmpdir(), cache), { recursive: true, mode: 0o700 });
  symlinkSync(join(tmpdir(), cache), join(dir, cache));
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
