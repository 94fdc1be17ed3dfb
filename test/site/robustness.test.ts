// Bad input never stops the build: every problem is a warning, and the page shows all of them.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildSite } from '../../site/build';
import { esc } from '../../site/html';
import { loadResults } from '../../site/load';
import {
  fixture,
  manifestTask,
  metaFor,
  RSS_FIXTURE,
  scaledJson,
  scaledTxt,
  tempDir,
  writeManifest,
  writeTask,
} from './helpers/run-folder';

const GOOD = { fib: 1, nbody: 1 };

function messyRun(): string {
  const dir = tempDir();
  writeTask(dir, 'good-1', { json: scaledJson(GOOD), txt: scaledTxt(GOOD), meta: metaFor('good', 1) });
  writeTask(dir, 'good-2', { json: scaledJson(GOOD), meta: metaFor('good', 2) });
  writeTask(dir, 'empty-1', { txt: '' });
  writeTask(dir, 'trunc-1', { json: scaledJson(GOOD).slice(0, 200), txt: scaledTxt(GOOD) });
  writeTask(dir, 'foreign-1', {
    json: '{"hello": "world"}',
    txt: '\u0089PNG\r\n\u001a\n\u0000\u0000\u0000\rIHDR',
  });
  writeTask(dir, 'nooutput-1', {});
  writeTask(dir, 'failed-1', {
    errorMeta: metaFor('failed', 1, { exit_code: 1, cpu_model: 'AMD EPYC 9R14' }),
  });
  writeTask(dir, 'badmeta-1', {
    json: scaledJson(GOOD),
    meta: JSON.stringify({ ...metaFor('badmeta', 1), vcpus: 'two', sibling_busy: 'maybe' }),
  });
  writeTask(dir, 'stray-1', {
    txt: fixture('single-ruby-rss-out-name-with-failed-gem-benchmark', 'output.txt'),
  });
  mkdirSync(join(dir, 'notes'));
  writeManifest(dir, [
    manifestTask('good', 1, { assembly_error: 'skipped 1 entry: logs/über.log' }),
    manifestTask('good', 2),
    manifestTask('good', 3, { assembly_error: 'result tarball missing' }),
    manifestTask('empty', 1),
    manifestTask('trunc', 1),
    manifestTask('foreign', 1),
    manifestTask('nooutput', 1),
    manifestTask('failed', 1, {
      status: 'failed',
      error_type: 'benchmark_failed',
      error_message: 'ruby-bench exited 1',
    }),
    manifestTask('badmeta', 1),
    manifestTask('running', 1, { status: 'running' }),
  ]);
  return dir;
}

describe('a results folder full of problems', () => {
  it('reads what it can and says what it could not', async () => {
    const run = await loadResults(messyRun());
    const outcome = Object.fromEntries(run.tasks.map((t) => [t.folder, [t.outcome, t.reason]]));
    expect(outcome).toEqual({
      'badmeta-1': ['completed', null],
      'empty-1': ['missing', 'no benchmark result could be read from its output (see the warnings)'],
      'failed-1': ['failed', 'benchmark_failed: ruby-bench exited 1'],
      'foreign-1': ['missing', 'no benchmark result could be read from its output (see the warnings)'],
      'good-1': ['completed', null],
      'good-2': ['completed', null],
      'good-3': [
        'missing',
        'completed, but its folder is not in the archive (the assembly reported: result tarball missing)',
      ],
      'nooutput-1': ['missing', 'completed, but its folder has no output.txt or output.json'],
      'running-1': ['unfinished', 'still running when the archive was made'],
      'stray-1': ['completed', null],
      'trunc-1': ['completed', null],
    });
    expect(run.tasks.find((t) => t.folder === 'trunc-1')?.output?.source).toBe('output.txt');
    expect(run.tasks.find((t) => t.folder === 'failed-1')?.meta?.cpu_model).toBe('AMD EPYC 9R14');
    const badmeta = run.tasks.find((t) => t.folder === 'badmeta-1')?.meta;
    expect(badmeta?.cpu_model).toBe('CPU of badmeta');
    expect(badmeta?.vcpus).toBeUndefined();
    expect(run.warnings).toEqual([
      'ignored the folder notes: its name is not <instance_type>-<run>',
      'stray-1/ is not in manifest.json; included from its folder name',
      'good-1: the assembly reported: skipped 1 entry: logs/über.log',
      'good-3: the assembly reported: result tarball missing',
      'empty-1/output.txt: no ruby-bench results table found',
      expect.stringMatching(/^trunc-1\/output\.json is not valid JSON .*; used output\.txt instead$/),
      'foreign-1/output.json has no "raw_data" object, so it is not ruby-bench output; used output.txt instead',
      'foreign-1/output.txt: no ruby-bench results table found',
      'badmeta-1/meta.json: unreadable fields vcpus, sibling_busy; used the rest',
    ]);
  });

  it('builds a site that shows every warning and every failed or missing task', async () => {
    const dir = messyRun();
    const site = await buildSite({ resultsDir: dir });
    const html = readFileSync(site.indexHtml, 'utf8');
    expect(site.warnings.length).toBeGreaterThanOrEqual(7);
    for (const w of site.warnings) expect(html).toContain(esc(w));
    for (const folder of ['empty-1', 'foreign-1', 'good-3', 'nooutput-1', 'running-1', 'failed-1']) {
      expect(html).toContain(`<th scope="row">${folder}</th>`);
    }
    expect(html).toContain('benchmark_failed: ruby-bench exited 1');
    expect(html).toContain('AMD EPYC 9R14'); // the failed task's host, from error/meta.json
  });
});

describe('manifest.json problems', () => {
  it('uses the folder names when the manifest is corrupt', async () => {
    const dir = tempDir();
    writeTask(dir, 'c7a.large-1', { json: scaledJson(GOOD) });
    writeTask(dir, 'c7a.large-2', { errorMeta: metaFor('c7a.large', 2) });
    writeFileSync(join(dir, 'manifest.json'), '{"run_id": 17000');
    const run = await loadResults(dir);
    expect(run.hasManifest).toBe(false);
    expect(run.warnings).toEqual([expect.stringMatching(/^manifest\.json is not valid JSON/)]);
    expect(run.tasks.map((t) => [t.instanceType, t.run, t.outcome])).toEqual([
      ['c7a.large', 1, 'completed'],
      ['c7a.large', 2, 'failed'],
    ]);
    expect(run.tasks[1]?.reason).toBe(
      'failed (an error/ folder is there; without manifest.json the reason is unknown)',
    );
  });

  it('keeps the well-formed tasks of a partly malformed manifest', async () => {
    const dir = tempDir();
    writeTask(dir, 'a-1', { json: scaledJson(GOOD) });
    writeFileSync(
      join(dir, 'manifest.json'),
      JSON.stringify({
        run_id: 42,
        ruby_version: '3.4.7',
        tasks: [manifestTask('a', 1), { instance_type: 'b' }],
      }),
    );
    const run = await loadResults(dir);
    expect(run.runId).toBe(42);
    expect(run.tasks.map((t) => t.folder)).toEqual(['a-1']);
    expect(run.status).toBeNull(); // shown as unknown, never guessed to be complete
    expect(run.warnings).toEqual([
      'manifest.json has no config, created_at, finished_at; read without them',
      'manifest.json has no run status; shown as unknown',
      'manifest.json: task #2 (b) has no run, status; skipped (a task needs instance_type, run, status)',
    ]);
  });

  it('works without a manifest: instance types and runs from folder names', async () => {
    const dir = tempDir();
    for (const [folder, k] of [
      ['Standard_D2as_v5-1', 1],
      ['Standard_D2as_v5-2', 1],
      ['local-2cpu-1', 2],
    ] as const) {
      writeTask(dir, folder, { txt: scaledTxt({ fib: k, nbody: k }) });
    }
    const run = await loadResults(dir);
    expect(run.warnings).toEqual([]);
    expect(run.tasks.map((t) => [t.instanceType, t.run])).toEqual([
      ['Standard_D2as_v5', 1],
      ['Standard_D2as_v5', 2],
      ['local-2cpu', 1],
    ]);
  });
});

describe('edge folders', () => {
  it('builds a page for an empty results folder', async () => {
    const site = await buildSite({ resultsDir: tempDir() });
    expect(site.warnings).toEqual(['no task has results (the folder has no task); nothing to rank']);
    expect(readFileSync(site.indexHtml, 'utf8')).toContain(
      '<p class="warn">No results: no task has results (the folder has no task).</p>',
    );
  });

  it('does not read its own output folder as a task when built twice', async () => {
    const dir = tempDir();
    writeTask(dir, 'a-1', { json: readFileSync(join(RSS_FIXTURE, 'output.json'), 'utf8') });
    await buildSite({ resultsDir: dir });
    const again = await buildSite({ resultsDir: dir });
    expect(again.warnings).toEqual([]);
  });

  it('fails with a clear message when the results folder does not exist', async () => {
    await expect(buildSite({ resultsDir: join(tempDir(), 'nope') })).rejects.toThrow(
      /^cannot read the results folder .*nope: ENOENT/,
    );
  });
});

describe('benchmarks that read 0.0 ms', () => {
  const ALL = { binarytrees: 1, fib: 1, nbody: 1, str_concat: 1 };
  const noNaN = (dir: string): void => {
    for (const f of ['index.html', 'data.json', 'data.csv']) {
      const text = readFileSync(join(dir, 'site', f), 'utf8');
      expect(text).not.toMatch(/NaN|Infinity/);
    }
  };

  it('leaves a 0.0 ms benchmark out of its cell and ranks on the rest', async () => {
    const dir = tempDir();
    for (const run of [1, 2]) {
      writeTask(dir, `slow-${run}`, { txt: scaledTxt(ALL) });
      writeTask(dir, `fast-${run}`, { txt: scaledTxt({ ...ALL, fib: 0, nbody: 0.5 }) });
    }
    const site = await buildSite({ resultsDir: dir });
    noNaN(dir);
    expect(site.warnings).toContain(
      `fast-1/output.txt: benchmark "fib" of ruby took 0.0 ms on average, too fast to measure at ruby-bench's 0.1 ms precision; left out of the results and the ranking`,
    );
    const data = JSON.parse(readFileSync(join(dir, 'site', 'data.json'), 'utf8'));
    const [ranking] = data.rankings;
    expect(ranking.excluded).toEqual([{ bench: 'fib', missingOn: ['fast'] }]);
    const fast = ranking.rows.find((r: { instanceType: string }) => r.instanceType === 'fast');
    // nbody twice as fast, binarytrees and str_concat the same: (2 * 1 * 1)^(1/3)
    expect(fast.relSpeed).toBeCloseTo(Math.cbrt(2), 2);
  });

  it('builds a page without NaN when every benchmark reads 0.0 ms (local --synthetic-size 0)', async () => {
    const dir = tempDir();
    const zero = { binarytrees: 0, fib: 0, nbody: 0, str_concat: 0 };
    for (const folder of ['small-1', 'small-2', 'big-1']) {
      writeTask(dir, folder, { txt: scaledTxt(zero), json: scaledJson(zero) });
    }
    const site = await buildSite({ resultsDir: dir });
    noNaN(dir);
    expect(site.warnings).toContain(
      `small-1/output.json: 4 benchmarks ("binarytrees", "fib", "nbody", "str_concat") of ruby took 0.0 ms on average, too fast to measure at ruby-bench's 0.1 ms precision; left out of the results and the ranking`,
    );
    const run = await loadResults(dir, ['site']);
    // rack printed N/A: the task ran, yet no benchmark gave a time
    expect(run.tasks.map((t) => t.outcome)).toEqual([
      'benchmarks_failed',
      'benchmarks_failed',
      'benchmarks_failed',
    ]);
  });
});

describe('a task whose every benchmark failed', () => {
  const EVERY = ['binarytrees', 'fib', 'nbody', 'str_concat'];

  function allFailedRun(): string {
    const dir = tempDir();
    writeTask(dir, 'c7a.large-1', {
      json: '{"metadata":{"ruby":"ruby 3.1.7p261"},"raw_data":{"ruby":{}}}',
      txt: scaledTxt({}, EVERY),
      meta: metaFor('c7a.large', 1),
    });
    writeTask(dir, 'm7g.large-1', {
      json: scaledJson({ fib: 1, nbody: 1 }),
      txt: scaledTxt({ fib: 1, nbody: 1 }),
    });
    writeManifest(dir, [manifestTask('c7a.large', 1), manifestTask('m7g.large', 1)]);
    return dir;
  }

  it('gets an outcome of its own that says so, with no warnings pointed at', async () => {
    const run = await loadResults(allFailedRun());
    expect(run.warnings).toEqual([]);
    const task = run.tasks.find((t) => t.folder === 'c7a.large-1')!;
    expect(task.outcome).toBe('benchmarks_failed');
    expect(task.reason).toBe(
      "every benchmark failed (N/A in ruby-bench's output): rack, binarytrees, nbody, fib, str_concat",
    );
  });

  it('keeps its failed benchmarks in "Benchmarks that failed"', async () => {
    const dir = allFailedRun();
    const site = await buildSite({ resultsDir: dir });
    const html = readFileSync(site.indexHtml, 'utf8');
    expect(html).toContain('<td class="outcome-benchmarks_failed">benchmarks_failed</td>');
    expect(html).not.toContain('see the warnings');
    for (const bench of ['rack', ...EVERY])
      expect(html).toContain(`<li>${bench} (ruby) on c7a.large, run 1</li>`);
    expect(html).toContain('<li>rack (ruby) on m7g.large, run 1</li>');
  });
});
