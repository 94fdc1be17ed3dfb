// Removes the run's temp folder (see global-setup.ts) and names, on one stderr line, what was
// still in it: a report of a leak to fix at its source, not a failure.
import { readdirSync, rmSync } from 'node:fs';
import { OUTER_TMPDIR, RUN_TMPDIR } from './global-setup';

// tsx keeps its compile cache in tsx-<uid> under the temp dir on purpose; it is not a leak.
const EXPECTED = /^tsx-\d+$/;

/** Entries grouped by prefix (the random end mkdtemp or mktemp adds dropped), at most 10 shown. */
function leftovers(names: string[]): string {
  const counts = new Map<string, number>();
  for (const name of names) {
    // `bf-cli-AbC123` and `tmp.a1B2c3D4e5` group as `bf-cli-*`, `tmp.*`; `tsx-0` stays itself
    const group = name.replace(/^(.*[-_.])[A-Za-z0-9]{6,}$/, '$1*');
    counts.set(group, (counts.get(group) ?? 0) + 1);
  }
  const groups = [...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  const shown = groups.slice(0, 10).map(([g, n]) => (n > 1 ? `${g} (${n})` : g));
  if (groups.length > 10) shown.push(`and ${groups.length - 10} more`);
  return shown.join(', ');
}

export default function globalTeardown(): void {
  const dir = process.env[RUN_TMPDIR];
  if (!dir) return;
  // Back to the TMPDIR from before, so a --watch rerun's setup starts from it again.
  const outer = process.env[OUTER_TMPDIR];
  if (outer) process.env.TMPDIR = outer;
  else delete process.env.TMPDIR;
  delete process.env[RUN_TMPDIR];
  delete process.env[OUTER_TMPDIR];
  let names: string[] = [];
  try {
    names = readdirSync(dir).filter((n) => !EXPECTED.test(n));
  } catch {}
  if (names.length > 0)
    process.stderr.write(
      `\nbenchfleet tests left ${names.length} entries in their temp dir ${dir} (removing them): ${leftovers(names)}\n`,
    );
  try {
    rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
  } catch (e) {
    process.stderr.write(`benchfleet tests: could not remove their temp dir ${dir}: ${String(e)}\n`);
  }
}
