import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { parseOutputJson } from '../../site/parse-json';
import { parseOutputFiles } from '../../site/parse-output';
import { parseOutputTxt } from '../../site/parse-table';
import { FIXTURES, fixture } from './helpers/run-folder';

const folders = readdirSync(FIXTURES, { withFileTypes: true })
  .filter((e) => e.isDirectory())
  .map((e) => e.name);

function filesOf(folder: string): { json: string; txt: string } {
  const names = readdirSync(join(FIXTURES, folder));
  const pick = (ext: string): string =>
    fixture(folder, names.find((n) => /^output(_\d+)?\./.test(n) && n.endsWith(ext))!);
  return { json: pick('.json'), txt: pick('.txt') };
}

describe('output.json of every real fixture', () => {
  it.each(folders)('%s: agrees with the means ruby-bench printed in output.txt', (folder) => {
    const { json, txt } = filesOf(folder);
    const parsed = parseOutputJson(json);
    if (!parsed.ok) throw new Error(parsed.reason);
    expect(parsed.output.warnings).toEqual([]);
    const printed = parseOutputTxt(txt).samples;
    expect(parsed.output.samples).toHaveLength(printed.length);
    for (const p of printed) {
      const s = parsed.output.samples.find((x) => x.exe === p.exe && x.bench === p.bench);
      expect(s?.meanMs).toBeCloseTo(p.meanMs, 1); // output.txt rounds to 0.1 ms
    }
  });

  it('turns per-iteration seconds into a mean in ms, stddev in % and RSS in MiB', () => {
    const parsed = parseOutputJson(fixture('default-iterations-interp-vs-yjit-5-micro', 'output_001.json'));
    if (!parsed.ok) throw new Error(parsed.reason);
    const fib = parsed.output.samples.find((s) => s.exe === 'interp' && s.bench === 'fib')!;
    expect(fib.iterations).toBe(10);
    expect(fib.meanMs).toBeCloseTo(1126.8, 1);
    expect(fib.iterStddevPct).toBeCloseTo(22.0, 1); // what ruby-bench printed: 1126.8 ± 22.0%
    expect(fib.rssMiB).toBeCloseTo(13.58, 2);
    expect(parsed.output.executables.yjit).toBe(
      'ruby 3.1.7p261 (2025-03-26 revision 0a3704f218) +YJIT [x86_64-linux-gnu]',
    );
  });

  it('reads a single --once iteration exactly', () => {
    const parsed = parseOutputJson(fixture('benchmark-quiet-once', 'output_001.json'));
    if (!parsed.ok) throw new Error(parsed.reason);
    expect(parsed.output.samples.find((s) => s.exe === 'interp' && s.bench === 'fib')).toEqual({
      exe: 'interp',
      bench: 'fib',
      meanMs: 1005.5060479999156,
      iterStddevPct: 0,
      iterations: 1,
      rssMiB: 14241792 / 1024 / 1024,
    });
  });

  it('uses the mean of rss_samples, like the RSS (MiB) column', () => {
    const parsed = parseOutputJson(
      fixture('single-ruby-rss-out-name-with-failed-gem-benchmark', 'output.json'),
    );
    if (!parsed.ok) throw new Error(parsed.reason);
    const bt = parsed.output.samples.find((s) => s.bench === 'binarytrees')!;
    expect(bt.rssMiB).toBeCloseTo((19972096 + 9 * 19976192) / 10 / 1024 / 1024, 9); // 19.05, printed 19.1
  });

  it('skips entries without iteration times and says which', () => {
    const parsed = parseOutputJson(
      JSON.stringify({
        raw_data: { ruby: { fib: { bench: [0.5, 1.5] }, bad: { bench: ['x'] }, none: {} }, yjit: 3 },
      }),
    );
    if (!parsed.ok) throw new Error(parsed.reason);
    expect(parsed.output.samples.map((s) => [s.bench, s.meanMs])).toEqual([['fib', 1000]]);
    expect(parsed.output.warnings).toEqual([
      'output.json: benchmark "bad" of ruby has no iteration times; skipped',
      'output.json: benchmark "none" of ruby has no iteration times; skipped',
      'output.json: the data of executable "yjit" is not an object; skipped',
    ]);
  });

  it('leaves out a benchmark whose iterations all took 0 s, and says so', () => {
    const parsed = parseOutputJson(
      JSON.stringify({ raw_data: { ruby: { fib: { bench: [0.5, 1.5] }, nop: { bench: [0, 0] } } } }),
      'a-1/output.json',
    );
    if (!parsed.ok) throw new Error(parsed.reason);
    expect(parsed.output.samples.map((s) => [s.bench, s.meanMs])).toEqual([['fib', 1000]]);
    expect(parsed.output.warnings).toEqual([
      `a-1/output.json: benchmark "nop" of ruby took 0.0 ms on average, too fast to measure at ruby-bench's 0.1 ms precision; left out of the results and the ranking`,
    ]);
  });

  it.each([
    [
      'truncated',
      '{"metadata":{"ruby":"ruby 3.1.7"},"raw_data":{"ruby":{"fib":{"bench":[1.0',
      'is not valid JSON',
    ],
    ['foreign JSON', '{"results": [1, 2, 3]}', 'has no "raw_data" object'],
    ['a JSON array', '[]', 'has no "raw_data" object'],
  ])('rejects %s with a reason', (_name, text, reason) => {
    const parsed = parseOutputJson(text);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.reason).toContain(reason);
  });

  it('never throws on any JSON value', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        parseOutputJson(JSON.stringify({ raw_data: v }));
        parseOutputJson(JSON.stringify(v));
      }),
    );
  });
});

describe('choosing between output.json and output.txt', () => {
  const rss = 'single-ruby-rss-out-name-with-failed-gem-benchmark';

  it('prefers the JSON and takes failed benchmarks from the text', () => {
    const out = parseOutputFiles({ json: fixture(rss, 'output.json'), txt: fixture(rss, 'output.txt') });
    expect(out.source).toBe('output.json');
    expect(out.samples.every((s) => s.iterations === 10)).toBe(true);
    expect(out.failed).toEqual([{ exe: 'ruby', bench: 'rack' }]);
    expect(out.warnings).toEqual([]);
  });

  it('falls back to the text when the JSON is corrupt, and says so', () => {
    const out = parseOutputFiles({
      json: '{"raw_data": {',
      txt: fixture(rss, 'output.txt'),
      where: 'm5.large-1/',
    });
    expect(out.source).toBe('output.txt');
    expect(out.samples).toHaveLength(4);
    expect(out.warnings).toEqual([
      expect.stringMatching(/^m5\.large-1\/output\.json is not valid JSON .*; used output\.txt instead$/),
    ]);
  });

  it('reports a task with neither file', () => {
    const out = parseOutputFiles({ where: 'm5.large-2/' });
    expect(out).toMatchObject({ source: 'none', samples: [] });
    expect(out.warnings).toEqual(['m5.large-2 has neither output.json nor output.txt']);
  });

  it('reports a corrupt JSON with no text beside it', () => {
    const out = parseOutputFiles({ json: 'garbage' });
    expect(out.source).toBe('none');
    expect(out.warnings[0]).toMatch(/^output\.json is not valid JSON/);
  });
});
