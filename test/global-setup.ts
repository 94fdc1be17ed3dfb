// Points TMPDIR of the whole jest run at a fresh folder under the real temp dir, so anything a
// test, a helper or a spawned process leaves in os.tmpdir() is found and removed by
// global-teardown.ts instead of piling up across runs.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Where the run's temp folder is, and TMPDIR as it was before (unset: empty string). */
export const RUN_TMPDIR = 'BENCHFLEET_TEST_RUN_TMPDIR';
export const OUTER_TMPDIR = 'BENCHFLEET_TEST_OUTER_TMPDIR';

export default function globalSetup(): void {
  const dir = mkdtempSync(join(tmpdir(), 'benchfleet-jest-'));
  process.env[OUTER_TMPDIR] = process.env.TMPDIR ?? '';
  process.env[RUN_TMPDIR] = dir;
  // Jest starts its workers after this, and they (and the processes they spawn) inherit the
  // environment; os.tmpdir() reads TMPDIR on every call.
  process.env.TMPDIR = dir;
}
