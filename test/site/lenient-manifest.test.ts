// An older or hand-made manifest.json may lack a field the API writes today: the site keeps each
// task it can place (instance_type, run, status) and names the fields it read without.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type ManifestTask, TASK_STATUSES } from '../../lambdas/shared/contract';
import { buildSite } from '../../site/build';
import { esc } from '../../site/html';
import { loadResults } from '../../site/load';
import { manifestTask, scaledJson, tempDir, writeManifest, writeTask } from './helpers/run-folder';

const GOOD = { fib: 1, nbody: 1 };

/** A manifest task as JSON, with `drop` left out and `set` written as is (even of the wrong type). */
function rawTask(task: ManifestTask, drop: string[], set: Record<string, unknown> = {}): ManifestTask {
  const doc: Record<string, unknown> = { ...task, ...set };
  for (const key of drop) delete doc[key];
  return doc as ManifestTask;
}

const noRunner = (run: number): ManifestTask =>
  manifestTask('c7g.large', run, {
    status: 'failed',
    runner_id: null,
    error_type: 'no_runner',
    error_message: 'no runner claimed a c7g.large task within 30 minutes',
    files: [],
  });

/** The "Failed and missing tasks" section of the page. */
function failures(html: string): string {
  const start = html.indexOf('Failed and missing tasks</h2>');
  expect(start).toBeGreaterThan(0);
  return html.slice(start, html.indexOf('</section>', start));
}

describe('a manifest task that lacks a field the site does not need', () => {
  it('keeps the task, shows it as failed, and names the field it read without', async () => {
    const dir = tempDir();
    writeTask(dir, 'c7a.large-1', { json: scaledJson(GOOD) });
    writeManifest(dir, [
      manifestTask('c7a.large', 1),
      rawTask(noRunner(1), ['assembly_error']),
      rawTask(noRunner(2), ['files'], { attempt: 'first' }),
    ]);

    const site = await buildSite({ resultsDir: dir });

    const expected = [
      'manifest.json: task #2 (c7g.large run 1) has no assembly_error; read without it',
      'manifest.json: task #3 (c7g.large run 2) has no files and an unreadable attempt (must be a number, got "first"); read without them',
    ];
    expect(site.warnings).toEqual(expected);
    const html = readFileSync(site.indexHtml, 'utf8');
    const section = failures(html);
    for (const folder of ['c7g.large-1', 'c7g.large-2']) {
      expect(section).toContain(`<th scope="row">${folder}</th>`);
    }
    expect(section).toContain('no_runner: no runner claimed a c7g.large task within 30 minutes');
    expect(section).toContain('<td class="n">–</td>'); // the unreadable attempt, shown as unknown
    for (const w of expected) expect(html).toContain(esc(w));

    const run = await loadResults(dir);
    expect(run.status).toBe('complete');
    expect(run.tasks.map((t) => [t.folder, t.outcome])).toEqual([
      ['c7a.large-1', 'completed'],
      ['c7g.large-1', 'failed'],
      ['c7g.large-2', 'failed'],
    ]);
    expect(run.tasks[1]?.manifestTask?.assembly_error).toBeNull();
    expect(run.tasks[2]?.manifestTask).toMatchObject({ attempt: null, files: null, error_type: 'no_runner' });
  });

  it('names a missing or unreadable field of the manifest itself', async () => {
    const dir = tempDir();
    writeTask(dir, 'a-1', { json: scaledJson(GOOD) });
    writeManifest(dir, [rawTask(manifestTask('a', 1), ['assembly_error'])]);
    const file = join(dir, 'manifest.json');
    const doc = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    delete doc.created_at;
    writeFileSync(file, JSON.stringify({ ...doc, run_id: 'forty-two' }));

    const run = await loadResults(dir);

    expect(run.warnings).toEqual([
      'manifest.json has no created_at and an unreadable run_id (must be a number, got "forty-two"); read without them',
      'manifest.json: task #1 (a run 1) has no assembly_error; read without it',
    ]);
    expect([run.runId, run.rubyVersion, run.createdAt, run.status]).toEqual([
      null,
      '3.4.7',
      null,
      'complete',
    ]);
    expect(run.tasks.map((t) => [t.folder, t.outcome])).toEqual([['a-1', 'completed']]);
  });
});

describe('a manifest task without what places it', () => {
  it('skips the task and names the field it needs', async () => {
    const dir = tempDir();
    writeTask(dir, 'c7a.large-1', { json: scaledJson(GOOD) });
    writeManifest(dir, [
      manifestTask('c7a.large', 1),
      rawTask(noRunner(1), ['instance_type', 'assembly_error']),
      rawTask(noRunner(2), ['assembly_error'], { status: 'exploded' }),
      rawTask(noRunner(3), [], { run: '3' }),
      'c7g.large-4' as unknown as ManifestTask,
    ]);

    const site = await buildSite({ resultsDir: dir });

    const needs = 'skipped (a task needs instance_type, run, status)';
    const STATUSES = TASK_STATUSES.map((v) => JSON.stringify(v)).join(', ');
    expect(site.warnings).toEqual([
      `manifest.json: task #2 (run 1) has no instance_type; ${needs}`,
      `manifest.json: task #3 (c7g.large run 2) has an unreadable status (must be one of ${STATUSES}); ${needs}`,
      `manifest.json: task #4 (c7g.large) has an unreadable run (must be a number, got "3"); ${needs}`,
      'manifest.json: task #5 is not a JSON object; skipped',
    ]);
    const html = readFileSync(site.indexHtml, 'utf8');
    expect(failures(html)).toContain('<p>Every task has results.</p>');
    for (const w of site.warnings) expect(html).toContain(esc(w));
  });
});

describe('a leniently read task whose instance type is no folder name', () => {
  it('is still skipped without reading a file, and its name is quoted and escaped', async () => {
    const dir = tempDir();
    writeTask(dir, 'm5.large-1', { json: scaledJson(GOOD) });
    writeManifest(dir, [
      manifestTask('m5.large', 1),
      rawTask(manifestTask('../<b>x</b>', 1), ['id', 'assembly_error']),
    ]);

    const site = await buildSite({ resultsDir: dir });

    expect(site.warnings).toEqual([
      'manifest.json: task #2 ("../<b>x</b>" run 1) has no id, assembly_error; read without them',
      expect.stringMatching(
        /^manifest\.json: a task \(run 1\) has the instance type "\.\.\/<b>x<\/b>", which contains a path separator/,
      ),
    ]);
    const html = readFileSync(site.indexHtml, 'utf8');
    expect(html).not.toContain('<b>x</b>');
    for (const w of site.warnings) expect(html).toContain(esc(w));
    const run = await loadResults(dir);
    expect(run.tasks.map((t) => t.folder)).toEqual(['m5.large-1']);
  });
});
