// A benchmark that failed in some runs only: the matrix, the failure list, the charts and the
// ranking must say so on the page itself, not only in a hover title.
import { readFileSync } from 'node:fs';
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

const BOTH = { fib: 1, nbody: 1 };

/** What a reader sees without hovering: the page's text with tags and their attributes removed. */
const visible = (html: string): string =>
  html
    .replace(/<[^>]*>/g, ' ')
    .replace(/\s+/g, ' ')
    .replace(/&#39;/g, "'");

describe('a benchmark that failed in one run of two', () => {
  let html: string;
  beforeAll(async () => {
    const dir = tempDir();
    for (const run of [1, 2]) {
      writeTask(dir, `a-${run}`, { json: scaledJson(BOTH), meta: metaFor('a', run) });
    }
    writeTask(dir, 'b-1', { json: scaledJson({ fib: 0.5, nbody: 0.5 }), meta: metaFor('b', 1) });
    // run 2 of b: ruby-bench printed N/A for fib (absent from output.json, an N/A row in the text)
    writeTask(dir, 'b-2', {
      json: scaledJson({ nbody: 0.5 }),
      txt: scaledTxt({ nbody: 0.5 }, ['fib']),
      meta: metaFor('b', 2),
    });
    writeManifest(dir, [
      manifestTask('a', 1),
      manifestTask('a', 2),
      manifestTask('b', 1),
      manifestTask('b', 2),
    ]);
    const built = await buildSite({ resultsDir: dir });
    html = readFileSync(built.indexHtml, 'utf8');
  });

  const section = (id: string): string => {
    const from = html.indexOf(`<section id="${id}">`);
    return html.slice(from, html.indexOf('</section>', from));
  };

  it('marks the matrix cell visibly', () => {
    const fibRow = section('matrix')
      .split('<tr>')
      .find((row) => row.includes('>fib</a>'))!;
    const cellOfB = fibRow.split('<td').find((td) => td.includes('failed'));
    expect(cellOfB).toBeDefined();
    expect(visible(`<td${cellOfB}`)).toContain('failed in run 2');
  });

  it('lists the failed run under "Benchmarks that failed"', () => {
    const text = visible(section('failures'));
    expect(text).not.toContain('Every task has results.');
    expect(text).toContain("Benchmarks that failed (N/A in ruby-bench's table)");
    expect(text).toContain('fib (ruby) on b, run 2 (run 1 has a result)');
  });

  it('says so under the chart of that benchmark', () => {
    const fib = html.slice(html.indexOf('<figure id="b-ruby-fib">'));
    expect(visible(fib.slice(0, fib.indexOf('</figure>')))).toContain('Failed on b in run 2.');
  });

  it('gives the ranking the real reason it has no interval', () => {
    const ranking = section('ranking');
    const b = ranking.split('<tr').find((row) => row.includes('>b</th>'))!;
    expect(visible(b)).toContain('1 of 2');
    expect(b).not.toContain('needs two or more runs on both sides"');
    expect(b).toContain(
      'title="no interval: it needs two or more runs with every compared benchmark on both sides; ' +
        'b has 1 (run 2 lacks a compared benchmark), a has 2"',
    );
  });
});

describe('a run stopped early', () => {
  it('shows the tasks the stop ended as cancelled, not failed', async () => {
    const dir = tempDir();
    writeTask(dir, 'a-1', { json: scaledJson(BOTH), meta: metaFor('a', 1) });
    writeManifest(dir, [
      manifestTask('a', 1),
      manifestTask('a', 2, {
        status: 'cancelled',
        error_type: 'cancelled',
        error_message: 'the run was ended early',
      }),
    ]);
    const run = await loadResults(dir);
    expect(run.tasks.map((t) => [t.folder, t.outcome, t.reason])).toEqual([
      ['a-1', 'completed', null],
      ['a-2', 'cancelled', 'cancelled: the run was ended early'],
    ]);
  });
});
