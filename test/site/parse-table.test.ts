import fc from 'fast-check';
import type { BenchSample } from '../../site/model';
import { parseOutputTxt } from '../../site/parse-table';
import { fixture } from './helpers/run-folder';

const find = (samples: BenchSample[], exe: string, bench: string): BenchSample | undefined =>
  samples.find((s) => s.exe === exe && s.bench === bench);

const RUBY_317 = 'ruby 3.1.7p261 (2025-03-26 revision 0a3704f218) [x86_64-linux-gnu]';

describe('output.txt of every real fixture', () => {
  it.each([
    ['benchmark-quiet-once', 'output_001.txt', ['interp', 'yjit'], 4],
    ['default-iterations-interp-vs-yjit-5-micro', 'output_001.txt', ['interp', 'yjit'], 10],
    ['once-single-ruby-40-nogem-benchmarks', 'output_001.txt', ['ruby'], 40],
    ['pvalue', 'output_001.txt', ['interp', 'yjit'], 6],
    ['single-ruby-rss-out-name-with-failed-gem-benchmark', 'output.txt', ['ruby'], 4],
    ['two-harness-sections-gc-summary', 'output_001.txt', ['interp', 'yjit'], 4],
  ])('reads %s without a warning', (folder, file, exes, count) => {
    const out = parseOutputTxt(fixture(folder, file));
    expect(out.warnings).toEqual([]);
    expect(Object.keys(out.executables)).toEqual(exes);
    expect(out.samples).toHaveLength(count);
  });

  it('reads mean and stddev of each executable and ignores the ratio columns', () => {
    const out = parseOutputTxt(fixture('default-iterations-interp-vs-yjit-5-micro', 'output_001.txt'));
    expect(out.executables.interp).toBe(RUBY_317);
    expect(find(out.samples, 'interp', 'fib')).toEqual({
      exe: 'interp',
      bench: 'fib',
      meanMs: 1126.8,
      iterStddevPct: 22,
      iterations: null,
      rssMiB: null,
    });
    expect(find(out.samples, 'yjit', 'str_concat')).toMatchObject({ meanMs: 640.6, iterStddevPct: 7.5 });
  });

  it('reads RSS columns and N/A rows of failed benchmarks', () => {
    const out = parseOutputTxt(fixture('single-ruby-rss-out-name-with-failed-gem-benchmark', 'output.txt'));
    expect(find(out.samples, 'ruby', 'binarytrees')).toMatchObject({
      meanMs: 1514.2,
      iterStddevPct: 2.4,
      rssMiB: 19.1,
    });
    expect(find(out.samples, 'ruby', 'str_concat')).toMatchObject({ meanMs: 663.3, rssMiB: 49.1 });
    expect(out.failed).toEqual([{ exe: 'ruby', bench: 'rack' }]);
  });

  it('reads every harness section and skips the GC summary table', () => {
    const once = parseOutputTxt(fixture('once-single-ruby-40-nogem-benchmarks', 'output_001.txt'));
    expect(find(once.samples, 'ruby', 'optcarrot')?.meanMs).toBe(21219.5);
    expect(find(once.samples, 'ruby', 'gcbench')?.meanMs).toBe(12025); // from the harness-gc section
    const gc = parseOutputTxt(fixture('two-harness-sections-gc-summary', 'output_001.txt'));
    expect(find(gc.samples, 'yjit', 'string_malloc_pressure')).toMatchObject({
      meanMs: 1044.2,
      iterStddevPct: 10.1,
    });
    expect(find(gc.samples, 'interp', 'fib')?.meanMs).toBe(989);
  });

  it('ignores p-value and significance columns', () => {
    const out = parseOutputTxt(fixture('pvalue', 'output_001.txt'));
    expect(find(out.samples, 'interp', 'nbody')).toMatchObject({ meanMs: 409.7, iterStddevPct: 17.4 });
    expect(find(out.samples, 'yjit', 'str_concat')?.meanMs).toBe(659.8);
  });
});

// Pre-February-2026 layout (fixtures/ruby-bench/README.md): a separate `stddev (%)` column after
// each `(ms)` column, RSS after that, significance stars in ratio cells.
const LEGACY = `interp: ${RUBY_317}
yjit: ruby 3.1.7p261 (2025-03-26 revision 0a3704f218) +YJIT [x86_64-linux-gnu]

----------  -----------  ----------  ---------  ----------  ------------  -----------
bench       interp (ms)  stddev (%)  yjit (ms)  stddev (%)  yjit 1st itr  interp/yjit
nbody             362.7         0.7      102.0         1.2         2.610  3.557 (***)
fib              1126.8        22.0      114.0         0.9         9.263    9.888 (*)
respond_to          N/A         N/A      698.8         0.4           N/A          N/A
----------  -----------  ----------  ---------  ----------  ------------  -----------

Legend:
- interp/yjit: ratio of interp/yjit time. Higher is better for yjit. Above 1 represents a speedup.
`;

const LEGACY_RSS = `ruby: ${RUBY_317}

-----------  ---------  ----------  ---------
bench        ruby (ms)  stddev (%)  RSS (MiB)
binarytrees     1514.2         2.4       19.1
fib             1004.7         7.2       13.6
-----------  ---------  ----------  ---------
`;

describe('the pre-February-2026 format', () => {
  it('takes the stddev from its own column', () => {
    const out = parseOutputTxt(LEGACY);
    expect(out.warnings).toEqual([]);
    expect(find(out.samples, 'interp', 'fib')).toMatchObject({ meanMs: 1126.8, iterStddevPct: 22 });
    expect(find(out.samples, 'yjit', 'nbody')).toMatchObject({ meanMs: 102, iterStddevPct: 1.2 });
    expect(out.failed).toEqual([{ exe: 'interp', bench: 'respond_to' }]);
    expect(find(out.samples, 'yjit', 'respond_to')?.meanMs).toBe(698.8);
  });

  it('reads the columns after a name with a character beyond the BMP (one character, two string units)', () => {
    // laid out as ruby-bench does: every column padded to its width in characters (Ruby's ljust
    // and rjust), names left-aligned, numbers right-aligned, two spaces between columns
    const rows = [
      ['bench', 'interp (ms)', 'stddev (%)', 'yjit (ms)', 'stddev (%)', 'yjit 1st itr', 'interp/yjit'],
      ['n🚀dy', '362.7', '0.7', '102.0', '1.2', '2.610', '3.557'],
      ['fib', '1126.8', '22.0', '114.0', '0.9', '9.263', '9.888'],
    ];
    const width = (c: number) => Math.max(...rows.map((r) => [...(r[c] as string)].length));
    const pad = (cell: string, c: number) =>
      c === 0
        ? cell + ' '.repeat(width(c) - [...cell].length)
        : ' '.repeat(width(c) - [...cell].length) + cell;
    const rule = rows[0]!.map((_, c) => '-'.repeat(width(c))).join('  ');
    const text = ['interp: ruby 3.4.7', 'yjit: ruby 3.4.7 +YJIT', '', rule]
      .concat(
        rows.map((r) => r.map(pad).join('  ')),
        [rule, ''],
      )
      .join('\n');
    const out = parseOutputTxt(text);
    expect(out.warnings).toEqual([]);
    expect(find(out.samples, 'interp', 'n🚀dy')).toMatchObject({ meanMs: 362.7, iterStddevPct: 0.7 });
    expect(find(out.samples, 'yjit', 'n🚀dy')).toMatchObject({ meanMs: 102, iterStddevPct: 1.2 });
    expect(find(out.samples, 'interp', 'fib')).toMatchObject({ meanMs: 1126.8, iterStddevPct: 22 });
  });

  it('reads the RSS column after the stddev column', () => {
    const out = parseOutputTxt(LEGACY_RSS);
    expect(find(out.samples, 'ruby', 'binarytrees')).toEqual({
      exe: 'ruby',
      bench: 'binarytrees',
      meanMs: 1514.2,
      iterStddevPct: 2.4,
      iterations: null,
      rssMiB: 19.1,
    });
  });
});

describe('executables named with -e and odd tables', () => {
  it('reads any number of executables with any names', () => {
    const text = `ruby-3.3: ruby 3.3.8
ruby-3.4: ruby 3.4.7
head: ruby 3.5.0dev

-----  --------------  --------------  ------------  -----------------
bench   ruby-3.3 (ms)   ruby-3.4 (ms)     head (ms)  ruby-3.3/ruby-3.4
fib    1000.0 ± 1.0%    900.0 ± 2.0%  800.0 ± 3.0%              1.111
-----  --------------  --------------  ------------  -----------------
`;
    const out = parseOutputTxt(text);
    expect(out.warnings).toEqual([]);
    expect(out.samples.map((s) => [s.exe, s.meanMs, s.iterStddevPct])).toEqual([
      ['ruby-3.3', 1000, 1],
      ['ruby-3.4', 900, 2],
      ['head', 800, 3],
    ]);
  });

  it('warns about an unknown column and still reads the rest', () => {
    const text = `-----  ------------  --------
bench     ruby (ms)  mystery
fib    1.5 ± 0.1%        42
-----  ------------  --------
`;
    const out = parseOutputTxt(text, 'x/output.txt');
    expect(out.samples).toEqual([expect.objectContaining({ bench: 'fib', meanMs: 1.5 })]);
    expect(out.warnings).toEqual(['x/output.txt: ignored the unknown column "mystery"']);
  });

  it('reports rows with a missing or unreadable cell', () => {
    const text = `-----  ------------  ------------
bench   interp (ms)     yjit (ms)
fib    10.0 ± 1.0%
nbody  fast           5.0 ± 1.0%
-----  ------------  ------------
`;
    const out = parseOutputTxt(text);
    expect(out.samples.map((s) => `${s.exe}/${s.bench}`)).toEqual(['interp/fib', 'yjit/nbody']);
    expect(out.warnings).toEqual([
      'output.txt: benchmark "fib" has no yjit time (truncated row?)',
      'output.txt: could not read the interp time "fast" of benchmark "nbody"',
    ]);
  });

  it('keeps the rows of a table cut off in the middle of a row and says so', () => {
    const full = fixture('default-iterations-interp-vs-yjit-5-micro', 'output_001.txt');
    const cut = full.slice(0, full.indexOf('1263.4 ± 9.0%') + '1263.4 ± 9'.length);
    const out = parseOutputTxt(cut);
    expect(out.samples.map((s) => `${s.exe}/${s.bench}`)).toEqual([
      'interp/nbody',
      'yjit/nbody',
      'interp/fib',
      'yjit/fib',
    ]);
    expect(out.warnings).toEqual([
      'output.txt: a results table ends without its closing rule (truncated file?)',
      'output.txt: could not read the interp time "1263.4 ± 9" of benchmark "respond_to"',
      'output.txt: benchmark "respond_to" has no yjit time (truncated row?)',
    ]);
  });

  it('leaves out benchmarks that read 0.0 ms and names them once per file', () => {
    const text = `synthetic: SYNTHETIC benchfleet workload

----------  --------------  ---------
bench       synthetic (ms)  ruby (ms)
fib             0.0 ± 0.0%  0.0 ± 0.0%
nbody           0.0 ± 0.0%  2.5 ± 1.0%
regex           1.2 ± 3.0%  0.0 ± 0.0%
----------  --------------  ---------
`;
    const out = parseOutputTxt(text, 'small.x-1/output.txt');
    expect(out.samples.map((s) => [s.exe, s.bench, s.meanMs])).toEqual([
      ['ruby', 'nbody', 2.5],
      ['synthetic', 'regex', 1.2],
    ]);
    expect(out.failed).toEqual([]);
    expect(out.warnings).toEqual([
      `small.x-1/output.txt: 2 benchmarks ("fib", "nbody") of synthetic took 0.0 ms on average, too fast to measure at ruby-bench's 0.1 ms precision; left out of the results and the ranking`,
      `small.x-1/output.txt: 2 benchmarks ("fib", "regex") of ruby took 0.0 ms on average, too fast to measure at ruby-bench's 0.1 ms precision; left out of the results and the ranking`,
    ]);
  });

  it.each([
    ['empty', ''],
    ['only the version lines', `ruby: ${RUBY_317}\n`],
    ['an HTML error page', '<html><body><h1>503 Service Unavailable</h1></body></html>'],
    ['binary bytes', '\u0000\u0001\u00ff\u001f\u008b-----\u0000'],
  ])('reports %s as having no results table', (_name, text) => {
    const out = parseOutputTxt(text);
    expect(out.samples).toEqual([]);
    expect(out.warnings).toEqual(['output.txt: no ruby-bench results table found']);
  });

  it('never throws, whatever the text', () => {
    const lines = fc.array(
      fc.oneof(
        fc.string(),
        fc.constantFrom('-----  ---------', 'bench  ruby (ms)', 'fib  1.0 ± 2.0%', 'N/A', 'stddev (%)', ''),
      ),
    );
    fc.assert(
      fc.property(lines, (ls) => {
        const out = parseOutputTxt(ls.join('\n'));
        expect(Array.isArray(out.samples)).toBe(true);
      }),
    );
  });
});
