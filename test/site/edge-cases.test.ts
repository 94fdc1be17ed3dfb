// Results folders the audit found mishandled: an unknown run status, a run where every task
// failed, task folders that are symlinks, names a spreadsheet would run, names one id apart.
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildSite } from '../../site/build';
import { anchor } from '../../site/html';
import { loadResults } from '../../site/load';
import { manifestTask, metaFor, scaledJson, tempDir, writeManifest, writeTask } from './helpers/run-folder';

const GOOD = { fib: 1, nbody: 1 };

describe('a manifest whose run status is not one the API has', () => {
  it('shows the status as unknown and says why, rather than "complete"', async () => {
    const dir = tempDir();
    writeTask(dir, 'a-1', { json: scaledJson(GOOD) });
    writeManifest(dir, [manifestTask('a', 1)]);
    const doc = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as Record<string, unknown>;
    writeFileSync(join(dir, 'manifest.json'), JSON.stringify({ ...doc, status: 'running_weird' }));
    const run = await loadResults(dir);
    expect(run.status).toBeNull();
    expect(run.warnings).toEqual([
      'manifest.json: the run status "running_weird" is not one benchfleet writes; shown as unknown',
    ]);
    const html = readFileSync((await buildSite({ resultsDir: dir })).indexHtml, 'utf8');
    expect(html).toContain('<dt>status</dt><dd>unknown</dd>');
  });
});

describe('a run where every task failed', () => {
  let dir: string;
  beforeAll(() => {
    dir = tempDir();
    const tasks = [];
    for (const type of ['a', 'b']) {
      for (const run of [1, 2]) {
        writeTask(dir, `${type}-${run}`, { errorMeta: metaFor(type, run, { exit_code: 1 }) });
        tasks.push(
          manifestTask(type, run, {
            status: 'failed',
            error_type: 'docker_error',
            error_message: 'no engine',
          }),
        );
      }
    }
    writeManifest(dir, tasks);
  });

  it('says no task has results and how many failed, not that nothing could be read', async () => {
    const site = await buildSite({ resultsDir: dir });
    expect(site.warnings).toEqual(['no task has results (4 failed); nothing to rank']);
  });

  it('puts a short "no results" line under every result heading', async () => {
    const html = readFileSync((await buildSite({ resultsDir: dir })).indexHtml, 'utf8');
    for (const id of ['ranking', 'matrix', 'charts']) {
      const from = html.indexOf(`<section id="${id}">`);
      const body = html.slice(from, html.indexOf('</section>', from)).replace(/^.*?<\/h2>/, '');
      expect([id, body]).toEqual([id, '<p class="warn">No results: no task has results (4 failed).</p>']);
    }
  });
});

describe('task folders without a manifest', () => {
  it('reads a task folder that is a symlink to a folder', async () => {
    const dir = tempDir();
    const elsewhere = tempDir();
    writeTask(dir, 'a-1', { json: scaledJson(GOOD) });
    writeTask(elsewhere, 'a-2', { json: scaledJson(GOOD) });
    symlinkSync(join(elsewhere, 'a-2'), join(dir, 'a-2'));
    writeFileSync(join(elsewhere, 'not-a-folder'), 'x');
    symlinkSync(join(elsewhere, 'not-a-folder'), join(dir, 'file-1'));
    mkdirSync(join(dir, 'logs'));
    const run = await loadResults(dir);
    expect(run.tasks.map((t) => [t.folder, t.outcome])).toEqual([
      ['a-1', 'completed'],
      ['a-2', 'completed'],
    ]);
  });
});

describe('names in the downloads and ids', () => {
  it('keeps a spreadsheet from running a benchmark or type name as a formula in data.csv', async () => {
    const dir = tempDir();
    const json = scaledJson(GOOD)
      .replace('"fib"', '"=HYPERLINK(\\"http://x\\",\\"y\\")"')
      .replace('"nbody"', '"@sum"');
    writeTask(dir, '-a-1', { json });
    writeTask(dir, '+b-1', { json });
    const site = await buildSite({ resultsDir: dir });
    const rows = readFileSync(join(site.outDir, 'data.csv'), 'utf8').trimEnd().split('\n').slice(1);
    expect(rows.length).toBe(4);
    for (const row of rows) {
      // every field: none starts with =, +, -, @ (a quoted field is checked inside its quote)
      const fields = row
        .match(/("(?:[^"]|"")*"|[^,]*)(,|$)/g)!
        .map((f) => f.replace(/,$/, '').replace(/^"/, ''));
      expect(fields.filter((f) => /^[=+\-@\t\r]/.test(f))).toEqual([]);
    }
    expect(rows).toContainEqual(expect.stringMatching(/^ruby,'-a,"'=HYPERLINK\(""http:\/\/x"",""y""\)",/));
    expect(rows).toContainEqual(expect.stringMatching(/^ruby,'\+b,'@sum,/));
  });

  it('gives distinct names distinct ids', () => {
    const names = ['a.b', 'a_b', 'a-b', 'a b', 'a/b', 'aé'];
    const ids = names.map((n) => anchor('ruby', n));
    expect(new Set(ids).size).toBe(names.length);
    expect(anchor('yjit-x', 'y')).not.toBe(anchor('yjit', 'x-y'));
    expect(anchor('yjit', 'str_concat')).toBe('b-yjit-str_concat');
    for (const id of ids) expect(id).toMatch(/^[A-Za-z0-9_.-]+$/);
  });
});
