// Expected values follow from the factors in helpers/run-folder.ts: each type's time for a
// benchmark is the fixture's time times a factor, so ratios to the baseline are ratios of factors.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Cell } from '../../site/aggregate';
import { aggregate } from '../../site/aggregate';
import { buildSite } from '../../site/build';
import { loadResults } from '../../site/load';
import type { TaskResult } from '../../site/model';
import { rankInstanceTypes } from '../../site/ranking';
import {
  FIXTURES,
  manifestTask,
  metaFor,
  RUN_MULTIPLIERS,
  scaledJson,
  standardRun,
  TYPE_FACTORS,
  tempDir,
  writeManifest,
  writeTask,
} from './helpers/run-folder';

async function aggregated(dir: string, opts: Parameters<typeof aggregate>[1] = {}) {
  return aggregate(await loadResults(dir), opts);
}

// Sample variance of three per-run log values, divided by the run count: the variance of their mean.
const varOfMean3 = (xs: [number, number, number]): number => {
  const m = (xs[0] + xs[1] + xs[2]) / 3;
  return ((xs[0] - m) ** 2 + (xs[1] - m) ** 2 + (xs[2] - m) ** 2) / 2 / 3;
};

// Each type's time is the geometric mean over its runs, so the run multipliers of
// helpers/run-folder.ts (arithmetic mean 1) leave their geometric mean in the ratio.
const gmRuns = (type: 'm5.large' | 'c7a.large'): number =>
  Math.cbrt(RUN_MULTIPLIERS[type]!.reduce((a, b) => a * b));
const RUNS_M5_OVER_C7A = gmRuns('m5.large') / gmRuns('c7a.large'); // 0.99987 / 0.99997

const DROPPED_BINARYTREES =
  'ruby: every type is ranked on 3 of the 4 benchmarks, because c8g.large lacks binarytrees (failed or not run there); without c8g.large the others would be compared on all 4';

describe('the standard run: three types, three runs each, one type that never ran', () => {
  let dir: string;
  beforeAll(() => {
    dir = standardRun();
  });

  it('ranks by the geometric mean of speed ratios over the benchmarks every type completed', async () => {
    const agg = await aggregated(dir);
    const [r] = agg.rankings;
    expect(agg.executables).toEqual(['ruby']);
    expect(r?.baseline).toBe('m5.large'); // the slowest
    expect(r?.baselineChosen).toBe('slowest');
    // binarytrees failed on c8g.large in every run: left out for everyone
    expect(r?.common).toEqual(['fib', 'nbody', 'str_concat']);
    expect(r?.excluded).toEqual([{ bench: 'binarytrees', missingOn: ['c8g.large'] }]);
    expect(r?.unranked).toEqual(['c6g.large']);
    expect(r?.rows.map((row) => row.instanceType)).toEqual(['c8g.large', 'c7a.large', 'm5.large']);
    // ... and the page says which type shrank everyone's comparison
    expect(r?.rows.map((row) => row.lacks)).toEqual([['binarytrees'], [], []]);
    expect(agg.warnings).toEqual([DROPPED_BINARYTREES]);
    const speed = Object.fromEntries(r!.rows.map((row) => [row.instanceType, row.relSpeed]));
    // c7a.large: fib 0.5, nbody 0.8, str_concat 0.9 of m5.large's time
    expect(speed['c7a.large']).toBeCloseTo(
      Math.cbrt((1 / 0.5) * (1 / 0.8) * (1 / 0.9)) * RUNS_M5_OVER_C7A,
      9,
    ); // 1.4056
    // c8g.large: fib 0.4, nbody 0.5, str_concat 0.8; read from output.txt, rounded to 0.1 ms
    expect(speed['c8g.large']).toBeCloseTo(
      Math.cbrt((1 / 0.4) * (1 / 0.5) * (1 / 0.8)) * gmRuns('m5.large'),
      3,
    ); // 1.8418
    expect(speed['m5.large']).toBe(1);
  });

  it('gives a 95 % interval across runs (Welch t) and none for the baseline', async () => {
    const [r] = (await aggregated(dir)).rankings;
    const row = (t: string) => r!.rows.find((x) => x.instanceType === t)!;
    // Per-run log means differ only by the run multipliers: m5 [1, 1.02, 0.98], c7a [1, 1.01, 0.99].
    const vBase = varOfMean3([0, Math.log(1.02), Math.log(0.98)]);
    const vC7a = varOfMean3([0, Math.log(1.01), Math.log(0.99)]);
    const df = (vBase + vC7a) ** 2 / (vBase ** 2 / 2 + vC7a ** 2 / 2);
    expect(df).toBeGreaterThan(2);
    expect(df).toBeLessThan(3); // so t(0.975, 2) = 4.303
    const half = 4.303 * Math.sqrt(vBase + vC7a);
    expect(row('c7a.large').ci!.low).toBeCloseTo(row('c7a.large').relSpeed * Math.exp(-half), 9);
    expect(row('c7a.large').ci!.high).toBeCloseTo(row('c7a.large').relSpeed * Math.exp(half), 9);
    // c8g.large's three runs are identical: only the baseline's spread counts (df = 2)
    const halfC8g = 4.303 * Math.sqrt(vBase);
    expect(row('c8g.large').ci!.low).toBeCloseTo(row('c8g.large').relSpeed * Math.exp(-halfC8g), 9);
    expect(row('m5.large').ci).toBeNull();
    expect(row('c7a.large').runsUsed).toBe(3);
  });

  it('computes the spread across runs, not across iterations', async () => {
    const agg = await aggregated(dir);
    const fib = agg.cells.find((c) => c.instanceType === 'm5.large' && c.bench === 'fib')!;
    expect(fib.runs.map((x) => x.run)).toEqual([1, 2, 3]);
    expect(fib.runs[1]!.ms / fib.runs[0]!.ms).toBeCloseTo(1.02, 12);
    expect(fib.meanMs).toBeCloseTo(fib.runs[0]!.ms, 9); // (1 + 1.02 + 0.98) / 3 = 1
    expect(fib.cv).toBeCloseTo(0.02, 9); // sample stddev of [1, 1.02, 0.98] is 0.02
    expect(fib.minMs / fib.meanMs).toBeCloseTo(0.98, 9);
    expect(fib.maxMs / fib.meanMs).toBeCloseTo(1.02, 9);
    expect(fib.rssMiB).toBeCloseTo(13.58, 2);
    expect(fib.noisy).toBe(false);
  });

  it('gives a cell the mean RSS of its runs', () => {
    const task = (run: number, rssMiB: number): TaskResult => ({
      folder: `t-${run}`,
      instanceType: 't',
      run,
      provider: null,
      outcome: 'completed',
      reason: null,
      meta: null,
      manifestTask: null,
      output: {
        source: 'output.json',
        executables: {},
        samples: [{ exe: 'ruby', bench: 'fib', meanMs: 100, iterStddevPct: null, iterations: 1, rssMiB }],
        failed: [],
        warnings: [],
      },
    });
    const run = { resultsDir: '', runId: 1, rubyVersion: null, status: null, createdAt: null } as const;
    const agg = aggregate({
      ...run,
      finishedAt: null,
      hasManifest: false,
      tasks: [task(1, 10), task(2, 20), task(3, 60)],
      warnings: [],
    });
    expect(agg.cells[0]?.rssMiB).toBe(30);
  });

  it('flags results whose host had a busy SMT sibling as noisy', async () => {
    const agg = await aggregated(dir);
    const c7a = agg.cells.filter((c) => c.instanceType === 'c7a.large');
    expect(c7a.every((c) => c.noisy)).toBe(true);
    expect(c7a[0]?.noise).toEqual(["the CPU's SMT sibling was busy during run 2"]);
    expect(agg.rankings[0]?.rows.find((r) => r.instanceType === 'c7a.large')?.noisyCells).toBe(3);
  });

  it('lists benchmarks that failed everywhere they ran', async () => {
    const agg = await aggregated(dir);
    expect(agg.failures).toEqual([
      { exe: 'ruby', instanceType: 'c8g.large', bench: 'binarytrees', runs: [1, 2, 3], resultRuns: [] },
      { exe: 'ruby', instanceType: 'c7a.large', bench: 'rack', runs: [1, 2, 3], resultRuns: [] },
      { exe: 'ruby', instanceType: 'c8g.large', bench: 'rack', runs: [1, 2, 3], resultRuns: [] },
      { exe: 'ruby', instanceType: 'm5.large', bench: 'rack', runs: [1, 2, 3], resultRuns: [] },
    ]);
    expect(agg.benchmarks.ruby).toEqual(['binarytrees', 'fib', 'nbody', 'rack', 'str_concat']);
  });

  it('compares with the baseline it is given', async () => {
    const [r] = (await aggregated(dir, { baseline: 'c7a.large' })).rankings;
    expect(r?.baselineChosen).toBe('given');
    const speed = Object.fromEntries(r!.rows.map((row) => [row.instanceType, row.relSpeed]));
    expect(speed['c7a.large']).toBe(1);
    expect(speed['m5.large']).toBeCloseTo(Math.cbrt(0.5 * 0.8 * 0.9) / RUNS_M5_OVER_C7A, 9); // 0.7115
    expect(speed['c8g.large']).toBeCloseTo(
      Math.cbrt((0.5 / 0.4) * (0.8 / 0.5) * (0.9 / 0.8)) * gmRuns('c7a.large'),
      3,
    ); // 1.3104
  });

  it('falls back to the slowest type when the baseline has no results, and says so', async () => {
    const agg = await aggregated(dir, { baseline: 'c6g.large' });
    expect(agg.rankings[0]?.baseline).toBe('m5.large');
    expect(agg.warnings).toEqual([
      DROPPED_BINARYTREES,
      'ruby: the baseline c6g.large has no results; used the slowest type, m5.large',
    ]);
  });

  it('adds speed per dollar when prices are known', async () => {
    const [r] = (await aggregated(dir, { prices: { 'm5.large': 0.096, 'c7a.large': 0.1 } })).rankings;
    const row = (t: string) => r!.rows.find((x) => x.instanceType === t)!;
    expect(row('m5.large').speedPerDollar).toBeCloseTo(1 / 0.096, 9);
    expect(row('c7a.large').speedPerDollar).toBeCloseTo(
      (Math.cbrt(2 * 1.25 * (1 / 0.9)) * RUNS_M5_OVER_C7A) / 0.1,
      9,
    );
    expect(row('c8g.large').speedPerDollar).toBeNull();
  });
});

describe('ranking rules', () => {
  const fourBench = { binarytrees: 1, fib: 1, nbody: 1, str_concat: 1 };

  it('does not let the longest benchmark decide (no sum of times)', async () => {
    const dir = tempDir();
    // fast-long: binarytrees (the longest, ~1514 ms) in half the time, everything else 30 % slower.
    // Its sum of times is lower (757 + 1.3 * 2027 = 3392 ms against 3541 ms), yet it is slower on
    // three benchmarks of four: geometric mean of ratios (2 * (1/1.3)^3)^(1/4) = 0.977.
    for (const run of [1, 2]) {
      writeTask(dir, `even-${run}`, { json: scaledJson(fourBench) });
      writeTask(dir, `fast-long-${run}`, {
        json: scaledJson({ binarytrees: 0.5, fib: 1.3, nbody: 1.3, str_concat: 1.3 }),
      });
    }
    const [r] = (await aggregated(dir, { baseline: 'even' })).rankings;
    expect(r?.rows.map((x) => x.instanceType)).toEqual(['even', 'fast-long']);
    expect(r?.rows[1]?.relSpeed).toBeCloseTo((2 * (1 / 1.3) ** 3) ** 0.25, 9);
  });

  it('flags a spread across runs over 5 % as noisy', async () => {
    const dir = tempDir();
    [1, 1.2, 0.8].forEach((k, i) => {
      writeTask(dir, `jittery-${i + 1}`, { json: scaledJson({ fib: k }), meta: metaFor('jittery', i + 1) });
      writeTask(dir, `steady-${i + 1}`, { json: scaledJson({ fib: 1 + i * 0.01 }) });
    });
    const agg = await aggregated(dir);
    const cell = (t: string) => agg.cells.find((c) => c.instanceType === t)!;
    expect(cell('jittery').cv).toBeCloseTo(0.2, 9);
    expect(cell('jittery').noise).toEqual(['runs differ by 20.0 % (coefficient of variation over 5 %)']);
    expect(cell('steady').noisy).toBe(false);
  });

  it('flags a single run whose own iterations leave its mean uncertain by over 5 %', async () => {
    const dir = tempDir();
    const from = join(FIXTURES, 'default-iterations-interp-vs-yjit-5-micro');
    writeTask(dir, 'once-1', {
      json: readFileSync(join(from, 'output_001.json'), 'utf8'),
      txt: readFileSync(join(from, 'output_001.txt'), 'utf8'),
    });
    const agg = await aggregated(dir);
    const noisy = agg.cells.filter((c) => c.noisy).map((c) => [c.exe, c.bench, c.noise]);
    // interp fib: ruby-bench printed 1126.8 ± 22.0 % over 10 iterations, so its mean is known to ±7 %;
    // respond_to's ±9.0 % over 10 (±2.9 %) and the rest are close enough
    expect(noisy).toEqual([
      [
        'interp',
        'fib',
        [
          "one run only, whose mean is uncertain by ±7.0 % (ruby-bench's ±22.0 % over 10 iterations; over 5 %)",
        ],
      ],
    ]);
  });

  it('compares instance types per executable', async () => {
    const dir = tempDir();
    const source = readFileSync(
      join(FIXTURES, 'default-iterations-interp-vs-yjit-5-micro', 'output_001.json'),
      'utf8',
    );
    const scaled = (yjit: number): string => {
      const doc = JSON.parse(source) as { raw_data: Record<string, Record<string, { bench: number[] }>> };
      for (const e of Object.values(doc.raw_data.yjit!)) e.bench = e.bench.map((s) => s * yjit);
      return JSON.stringify(doc);
    };
    writeTask(dir, 'a-1', { json: scaled(1) });
    writeTask(dir, 'b-1', { json: scaled(0.5) });
    const agg = await aggregated(dir);
    expect(agg.executables).toEqual(['interp', 'yjit']);
    const speedOf = (exe: string, t: string) =>
      agg.rankings.find((r) => r.exe === exe)?.rows.find((r) => r.instanceType === t)?.relSpeed;
    expect(speedOf('interp', 'b')).toBeCloseTo(1, 12);
    expect(speedOf('yjit', 'b')).toBeCloseTo(2, 12);
    expect(agg.rankings.find((r) => r.exe === 'yjit')?.rows[0]?.ci).toBeNull(); // one run: no interval
  });

  it('gives no ranking when no benchmark was completed everywhere', async () => {
    const dir = tempDir();
    writeTask(dir, 'a-1', { json: scaledJson({ fib: 1 }) });
    writeTask(dir, 'b-1', { json: scaledJson({ nbody: 1 }) });
    const agg = await aggregated(dir);
    expect(agg.rankings[0]?.rows).toEqual([]);
    expect(agg.warnings).toEqual([
      'ruby: no benchmark was completed on every instance type, so there is no ranking',
    ]);
  });
});

describe('one estimator for the point and its interval', () => {
  /** A cell as aggregate.ts makes it: the arithmetic mean of its runs' times. */
  const cell = (instanceType: string, bench: string, runs: Array<[number, number]>): Cell => {
    const ms = runs.map(([, t]) => t);
    return {
      exe: 'ruby',
      instanceType,
      bench,
      runs: runs.map(([run, t]) => ({
        run,
        ms: t,
        rssMiB: null,
        iterStddevPct: null,
        iterations: null,
        siblingBusy: false,
      })),
      meanMs: ms.reduce((a, b) => a + b, 0) / ms.length,
      stddevMs: null,
      cv: null,
      minMs: Math.min(...ms),
      maxMs: Math.max(...ms),
      rssMiB: null,
      noisy: false,
      noise: [],
      failedRuns: [],
    };
  };

  it('centres the interval on the point when a run lacks a benchmark (fast run 4 failed y)', () => {
    // base: x and y take 200 ms, 10 % more on x in run 2 and on y in run 3.
    // fast: exactly half of base in runs 1-3; in run 4 x took 20 ms and y failed (N/A).
    const cells = [
      cell('base', 'x', [
        [1, 200],
        [2, 220],
        [3, 200],
      ]),
      cell('base', 'y', [
        [1, 200],
        [2, 200],
        [3, 220],
      ]),
      cell('fast', 'x', [
        [1, 100],
        [2, 110],
        [3, 100],
        [4, 20],
      ]),
      cell('fast', 'y', [
        [1, 100],
        [2, 100],
        [3, 110],
      ]),
    ];
    const warnings: string[] = [];
    const r = rankInstanceTypes('ruby', ['base', 'fast'], cells, { baseline: 'base' }, warnings);
    const fast = r.rows.find((row) => row.instanceType === 'fast')!;
    // The runs with both benchmarks are 1-3 on each side, and there fast is exactly twice as fast.
    expect(fast.relSpeed).toBeCloseTo(2, 12);
    expect(fast.runsUsed).toBe(3);
    expect(fast.runsLacking).toEqual([4]);
    // Per-run mean logs on each side: c, c + a, c + a with a = ln(1.1) / 2. Sample variance a^2/3,
    // variance of the mean a^2/9 per side; Welch df = (2v)^2 / (2 v^2 / 2) = 4, t = 2.776.
    const a = Math.log(1.1) / 2;
    const half = 2.776 * Math.sqrt((2 * a ** 2) / 9); // 0.06236
    expect(fast.ci!.low).toBeCloseTo(2 * Math.exp(-half), 9); // 1.8791
    expect(fast.ci!.high).toBeCloseTo(2 * Math.exp(half), 9); // 2.1287
    // The geometric mean of the per-benchmark arithmetic means (the old point) would be
    // 206.67 / sqrt(82.5 * 103.33) = 2.238, outside the interval its own runs give.
    const oldPoint = 206.666666 / Math.sqrt(82.5 * 103.333333);
    expect(oldPoint).toBeGreaterThan(fast.ci!.high);
    expect(fast.geomeanMs).toBeCloseTo((200 / 2) * Math.exp((2 * a) / 3), 9);
    expect(warnings).toEqual([]);
  });

  it('says why there is no interval when a side has fewer than two full runs', () => {
    const cells = [
      cell('base', 'x', [
        [1, 200],
        [2, 220],
      ]),
      cell('base', 'y', [
        [1, 200],
        [2, 200],
      ]),
      cell('fast', 'x', [
        [1, 100],
        [2, 110],
      ]),
      cell('fast', 'y', [[1, 100]]),
    ];
    const r = rankInstanceTypes('ruby', ['base', 'fast'], cells, { baseline: 'base' }, []);
    const fast = r.rows.find((row) => row.instanceType === 'fast')!;
    expect(fast.ci).toBeNull();
    expect(fast.runsUsed).toBe(1);
    // base's runs 1 and 2 against fast's run 1: 200 * 1.1^(1/4) against 100
    expect(fast.relSpeed).toBeCloseTo(2 * 1.1 ** 0.25, 12);
    expect(fast.ciNote).toBe(
      'no interval: it needs two or more runs with every compared benchmark on both sides; ' +
        'fast has 1 (run 2 lacks a compared benchmark), base has 2',
    );
    expect(r.rows.find((row) => row.instanceType === 'base')!.ciNote).toBeNull();
  });
});

describe('runs with no results count against a type', () => {
  // c7a.large ran three times; m5.large's runs 2 and 3 timed out and were cancelled, so its rank
  // rests on run 1 alone: the row says "1 of 3" and the page says why, as the runs a timeout ends
  // are the slow ones.
  let dir: string;
  beforeAll(() => {
    dir = tempDir();
    const tasks = [];
    for (const run of [1, 2, 3]) {
      writeTask(dir, `c7a.large-${run}`, { json: scaledJson(TYPE_FACTORS['c7a.large']!) });
      tasks.push(manifestTask('c7a.large', run));
    }
    writeTask(dir, 'm5.large-1', { json: scaledJson(TYPE_FACTORS['m5.large']!) });
    tasks.push(
      manifestTask('m5.large', 1),
      manifestTask('m5.large', 2, { status: 'failed', error_type: 'timeout', files: [] }),
      manifestTask('m5.large', 3, { status: 'cancelled', error_type: null, files: [] }),
    );
    writeManifest(dir, tasks);
  });

  it('names the runs without results in the row and in a warning', async () => {
    const agg = await aggregated(dir);
    const m5 = agg.rankings[0]?.rows.find((r) => r.instanceType === 'm5.large');
    expect(m5?.runsUsed).toBe(1);
    expect(m5?.runsLost).toEqual([
      { run: 2, why: 'timeout' },
      { run: 3, why: 'cancelled' },
    ]);
    expect(agg.rankings[0]?.rows.find((r) => r.instanceType === 'c7a.large')?.runsLost).toEqual([]);
    expect(agg.warnings).toEqual([
      'ruby: m5.large is ranked on 1 of its 3 runs; run 2 has no results (timeout), run 3 has no results (cancelled). A run that timed out or failed is often a slow one, so its rank may flatter it',
    ]);
  });

  it('does not call a run a stop cancelled telling of the speed', async () => {
    const stopped = tempDir();
    const tasks = [];
    for (const run of [1, 2]) {
      writeTask(stopped, `c7a.large-${run}`, { json: scaledJson(TYPE_FACTORS['c7a.large']!) });
      tasks.push(manifestTask('c7a.large', run));
    }
    writeTask(stopped, 'm5.large-1', { json: scaledJson(TYPE_FACTORS['m5.large']!) });
    tasks.push(manifestTask('m5.large', 1), manifestTask('m5.large', 2, { status: 'cancelled', files: [] }));
    writeManifest(stopped, tasks);
    expect((await aggregated(stopped)).warnings).toEqual([
      'ruby: m5.large is ranked on 1 of its 2 runs; run 2 has no results (cancelled)',
    ]);
  });

  it('shows "1 of 3", flagged, in the runs column', async () => {
    const site = await buildSite({ resultsDir: dir, outDir: join(tempDir(), 'www') });
    const html = readFileSync(site.indexHtml, 'utf8');
    expect(html).toContain(
      '<td class="n" title="run 2 has no results (timeout); run 3 has no results (cancelled)"><span class="flag">1 of 3</span></td>',
    );
  });
});
