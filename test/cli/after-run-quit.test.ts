// What `benchfleet start` says of the results when a quit comes after the watch: the archive in
// S3, the folder being unpacked, or the site being built (start-signals.test.ts drives the first
// through a real CLI process; the site build of a test archive is too quick to quit inside).
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { pack } from 'tar-stream';
import { saveResults } from '../../cli/lib/results';
import { afterRunPlan, type Fleets, type SavedSoFar } from '../../cli/lib/start-fleets';

const fleets = (keepFleet: boolean): Fleets => ({
  runId: 7,
  flags: { keepFleet } as Fleets['flags'],
  standing: new Set(),
});

describe('the quit words after the watch', () => {
  const words = (saved: SavedSoFar, archived = true, keepFleet = false) => {
    const plan = afterRunPlan(fleets(keepFleet), () => saved, archived);
    return { now: plan.now(), leftUp: plan.leftUp() };
  };

  it('before anything is unpacked: the results stay in S3, and `benchfleet download` fetches them', () => {
    expect(words({ dir: undefined, site: false }).now).toBe(
      'the results of run 7 stay in S3: `benchfleet download 7` fetches them; tearing down its fleets before quitting',
    );
    expect(words({ dir: undefined, site: false }, false).now).toMatch(/^run 7 has ended; /);
  });

  it('once unpacked, while the site is built: the folder, and how to build its site', () => {
    const w = words({ dir: '/r/7', site: false }, true, true);
    expect(w.now).toBe(
      'the results of run 7 are in /r/7; if its site is unfinished, `benchfleet site /r/7` builds it; its fleets stay up (--keep-fleet): `benchfleet teardown 7` removes them',
    );
    expect(w.now).not.toContain('S3');
    expect(w.leftUp).toBe(
      'the results of run 7 are in /r/7; if its site is unfinished, `benchfleet site /r/7` builds it. The fleets of run 7 are torn down.',
    );
  });

  it('with the site built: only the folder', () => {
    expect(words({ dir: '/r/7', site: true }).now).toBe(
      'the results of run 7 are in /r/7; tearing down its fleets before quitting',
    );
  });
});

describe('saveResults', () => {
  it('tells of the folder once every file is unpacked and before the site is built', async () => {
    const p = pack();
    p.entry({ name: 'manifest.json' }, JSON.stringify({ run_id: 7, status: 'complete', tasks: [] }));
    p.entry({ name: 'c7g.medium-1/output.txt' }, 'fib 1.0\n');
    p.finalize();
    const chunks: Buffer[] = [];
    for await (const c of p) chunks.push(c as Buffer);
    const root = mkdtempSync(join(tmpdir(), 'bf-after-run-'));
    const stderr = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      const seen: Array<{ dir: string; files: string[]; site: boolean }> = [];
      const report = await saveResults(
        7,
        { stream: Readable.from([gzipSync(Buffer.concat(chunks))]) },
        root,
        undefined,
        (dir) => seen.push({ dir, files: readdirSync(dir).sort(), site: existsSync(join(dir, 'site')) }),
      );
      expect(seen).toEqual([
        { dir: report.results_dir, files: ['c7g.medium-1', 'manifest.json'], site: false },
      ]);
      expect(report.site).toBe(join(report.results_dir, 'site', 'index.html'));
      expect(existsSync(report.site as string)).toBe(true);
    } finally {
      stderr.mockRestore();
      rmSync(root, { recursive: true, force: true });
    }
  });
});
