// A manifest is data from the archive, not a trusted list of paths: an instance type that is not a
// plain folder name must never make the builder read outside the results folder.
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildSite } from '../../site/build';
import { loadResults } from '../../site/load';
import {
  manifestTask,
  metaFor,
  scaledJson,
  scaledTxt,
  tempDir,
  writeManifest,
  writeTask,
} from './helpers/run-folder';

const GOOD = { fib: 1, nbody: 1 };
const MARKER = 'OUTSIDE_MARKER_5f3a';

describe('a manifest whose instance type leads outside the results folder', () => {
  it('skips that task with a warning and shows nothing from the folder it names', async () => {
    // parent/outside-1/ is what `../outside` run 1 names from parent/run/
    const parent = tempDir('site-escape-');
    writeTask(parent, 'outside-1', {
      json: scaledJson(GOOD).replace(/"fib"/g, `"${MARKER}_bench"`),
      txt: scaledTxt(GOOD).replace(/\bfib\b/g, `${MARKER}_bench`),
      meta: metaFor('outside', 1, { cpu_model: `${MARKER} CPU`, runner_id: `${MARKER}-runner` }),
    });
    const dir = join(parent, 'run');
    mkdirSync(dir);
    writeTask(dir, 'm5.large-1', { json: scaledJson(GOOD), meta: metaFor('m5.large', 1) });
    writeManifest(dir, [manifestTask('m5.large', 1), manifestTask('../outside', 1, { runner_id: null })]);

    const site = await buildSite({ resultsDir: dir });

    for (const file of ['index.html', 'data.json', 'data.csv']) {
      expect(readFileSync(join(site.outDir, file), 'utf8')).not.toContain(MARKER);
    }
    const warning = site.warnings.find((w) => w.includes('"../outside"'));
    expect(warning).toMatch(/^manifest\.json: task \d+ \(run 1\) has the instance type "\.\.\/outside"/);
    expect(warning).toContain('path separator');
    expect(warning).toContain('skipped');
    const data = JSON.parse(readFileSync(join(site.outDir, 'data.json'), 'utf8')) as {
      tasks: Array<{ folder: string; outcome: string }>;
    };
    expect(data.tasks).toEqual([expect.objectContaining({ folder: 'm5.large-1', outcome: 'completed' })]);
  });

  it.each([
    ['/abs/outside', 'is an absolute path'],
    ['..\\outside', 'path separator'],
    ['a/b', 'path separator'],
    ['x\u0000y', 'NUL character'],
    ['C:\\outside', 'is an absolute path'],
    ['C:outside', 'Windows drive'],
    ['', 'is empty'],
  ])('refuses the instance type %j and says why', async (instanceType, why) => {
    const dir = tempDir();
    writeTask(dir, 'm5.large-1', { json: scaledJson(GOOD) });
    // `..` alone is a plain name: `..-1` is a folder inside the results folder
    writeTask(dir, '..-1', { json: scaledJson(GOOD) });
    writeManifest(dir, [manifestTask('m5.large', 1), manifestTask('..', 1), manifestTask(instanceType, 1)]);

    const run = await loadResults(dir);

    expect(run.tasks.map((t) => [t.folder, t.outcome])).toEqual([
      ['..-1', 'completed'],
      ['m5.large-1', 'completed'],
    ]);
    const about = run.warnings.filter((w) => w.includes(JSON.stringify(instanceType)));
    expect(about).toHaveLength(1);
    expect(about[0]).toContain(why);
  });
});

describe('a manifest task whose run is below 1', () => {
  it.each([0, -1])(
    'skips run %d with a warning instead of showing a folder that cannot exist',
    async (run) => {
      const dir = tempDir();
      writeTask(dir, 'm5.large-1', { json: scaledJson(GOOD) });
      writeManifest(dir, [manifestTask('m5.large', 1), manifestTask('m5.large', run)]);

      const loaded = await loadResults(dir);

      expect(loaded.tasks.map((t) => [t.folder, t.outcome])).toEqual([['m5.large-1', 'completed']]);
      expect(loaded.warnings).toEqual([
        expect.stringMatching(
          new RegExp(
            `^manifest\\.json: task \\d+ \\(m5\\.large\\) has run ${run}, but runs are numbered from 1`,
          ),
        ),
      ]);
    },
  );
});
