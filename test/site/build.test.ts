import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { listPrice, PRICE_REGIONS, PRICES_AS_OF } from '../../lambdas/shared/instance-types';
import { formatJson, formatTxt } from '../../runner/executors/ruby-bench-format';
import { syntheticFormat } from '../../runner/executors/synthetic';
import { buildSite } from '../../site/build';
import { parsePrices } from '../../site/prices';
import {
  manifestTask,
  scaledJson,
  standardRun,
  tempDir,
  writeManifest,
  writeTask,
} from './helpers/run-folder';

const read = (dir: string, file: string): string => readFileSync(join(dir, file), 'utf8');

describe('buildSite on the standard run', () => {
  let dir: string;
  let outDir: string;
  beforeAll(async () => {
    dir = standardRun();
    writeFileSync(
      join(dir, 'prices.json'),
      JSON.stringify({ 'm5.large': 0.096, 'c7a.large': 0.1, 'c8g.large': 0.08 }),
    );
    ({ outDir } = await buildSite({ resultsDir: dir, pricesFile: join(dir, 'prices.json') }));
  });

  it('writes index.html, style.css and the data downloads into <resultsDir>/site', () => {
    expect(outDir).toBe(join(dir, 'site'));
    expect(readdirSync(outDir).sort()).toEqual(['data.csv', 'data.json', 'index.html', 'style.css']);
    const html = read(outDir, 'index.html');
    for (const id of ['ranking', 'price', 'matrix', 'charts', 'hosts', 'failures'])
      expect(html).toContain(`<section id="${id}">`);
    expect(html).toContain('href="data.csv"');
    expect(html).toContain('<title>Ruby benchmarks by instance type: run 1700000000</title>');
    // no network at view time: nothing but relative links
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);
  });

  it('gives byte-identical output for the same input', async () => {
    const other = await buildSite({
      resultsDir: dir,
      outDir: join(tempDir(), 'copy'),
      pricesFile: join(dir, 'prices.json'),
    });
    for (const f of ['index.html', 'style.css', 'data.csv', 'data.json'])
      expect(read(other.outDir, f)).toBe(read(outDir, f));
  });

  it('exports one CSV row per executable, instance type and benchmark', () => {
    const lines = read(outDir, 'data.csv').trimEnd().split('\n');
    expect(lines[0]).toBe(
      'executable,instance_type,benchmark,runs,mean_ms,stddev_ms,cv,min_ms,max_ms,rss_mib,speed_vs_baseline,baseline,noisy,noise,failed_runs',
    );
    expect(lines).toHaveLength(1 + 2 + 3 * 3); // binarytrees on two types; fib, nbody, str_concat on three
    const fib = lines.find((l) => l.startsWith('ruby,c7a.large,fib,'))!.split(',');
    expect(fib[3]).toBe('3');
    expect(Number(fib[10])).toBeCloseTo(2, 9); // c7a.large ran fib in 0.5 of m5.large's time
    expect(fib.slice(11, 14)).toEqual(['m5.large', 'true', "the CPU's SMT sibling was busy during run 2"]);
  });

  it('exports the rankings, cells and tasks as JSON', () => {
    const doc = JSON.parse(read(outDir, 'data.json'));
    expect(doc.run_id).toBe(1_700_000_000);
    expect(doc.rankings[0].rows.map((r: { instanceType: string }) => r.instanceType)).toEqual([
      'c8g.large',
      'c7a.large',
      'm5.large',
    ]);
    expect(doc.tasks).toHaveLength(12);
    expect(doc.tasks.find((t: { folder: string }) => t.folder === 'c6g.large-1').reason).toBe(
      'no_runner: no runner claimed a c6g.large task within 30 minutes',
    );
  });

  it('shows price-performance when prices are given', () => {
    const html = read(outDir, 'index.html');
    expect(html).toContain('Price-performance');
    expect(html).toContain('$0.0800');
    // c8g.large: cbrt(6.25) / 0.08 = 23.03 speed per $/h, times its 2 vCPUs: 46.05 work per $/h
    expect(html).toMatch(
      /<th scope="row">c8g\.large<\/th><td class="n">\$0\.0800<\/td><td class="n">2<\/td><td class="n">1\.842×<\/td><td class="n">23\.0[23]<\/td><td class="n strong">46\.0[56]<\/td><td class="n">100\.0 %<\/td>/,
    );
  });

  it("without a price file, ranks by the catalog's list prices and says whose prices they are", async () => {
    const plain = await buildSite({ resultsDir: dir, outDir: join(tempDir(), 'plain') });
    const html = read(plain.outDir, 'index.html');
    expect(html).toContain('<section id="price">');
    expect(html).toContain(
      `public on-demand list prices (Linux; AWS ${PRICE_REGIONS.aws}, Azure ${PRICE_REGIONS.azure}) as of ${PRICES_AS_OF}`,
    );
    // the catalog's prices of the run's cloud types; m5.large is not in the catalog
    expect(html).toContain(
      `<th scope="row">c8g.large</th><td class="n">$${listPrice('aws', 'c8g.large')!.toFixed(4)}</td>`,
    );
    expect(html).toContain(
      `<th scope="row">c7a.large</th><td class="n">$${listPrice('aws', 'c7a.large')!.toFixed(4)}</td>`,
    );
    expect(html).toContain('No price for: m5.large.');
    const doc = JSON.parse(read(plain.outDir, 'data.json'));
    expect(doc.price_source).toEqual({ kind: 'list', as_of: PRICES_AS_OF, regions: PRICE_REGIONS });
    expect(JSON.parse(read(outDir, 'data.json')).price_source).toEqual({ kind: 'file', file: 'prices.json' });
  });

  it('leaves price-performance out when no type has a price, and warns about an unreadable price file', async () => {
    const local = tempDir();
    writeTask(local, 'local-1', { json: scaledJson({ fib: 1 }) });
    writeManifest(local, [manifestTask('local', 1, { provider: 'local' })]);
    const none = await buildSite({ resultsDir: local, outDir: join(tempDir(), 'none') });
    expect(read(none.outDir, 'index.html')).not.toContain('<section id="price">');
    expect(JSON.parse(read(none.outDir, 'data.json')).price_source).toBeNull();
    const bad = await buildSite({
      resultsDir: dir,
      outDir: join(tempDir(), 'bad'),
      pricesFile: join(dir, 'none.json'),
    });
    expect(bad.warnings).toEqual([
      expect.stringMatching(/^could not read the price file .*none\.json: ENOENT.*; no prices shown$/),
      expect.stringMatching(/^ruby: every type is ranked on 3 of the 4 benchmarks, because c8g\.large lacks/),
    ]);
  });
});

it("heads a page of the synthetic workload's results as not Ruby, and says its ruby version was not used", async () => {
  const dir = tempDir();
  for (const [type, factor] of [
    ['local-a', 1],
    ['local-b', 0.7],
  ] as const) {
    const fmt = syntheticFormat(
      ['fib', 'nbody'].map((name) => ({ name, warmup: [0.1], bench: [0.2 * factor, 0.21 * factor] })),
    );
    writeTask(dir, `${type}-1`, {
      txt: formatTxt(fmt),
      json: formatJson(fmt, 'benchfleet-runner synthetic'),
    });
  }
  writeManifest(dir, [manifestTask('local-a', 1), manifestTask('local-b', 1)]);
  const { outDir } = await buildSite({ resultsDir: dir });
  const html = read(outDir, 'index.html');
  expect(html).toContain(
    '<title>Synthetic benchmarks (JavaScript, not Ruby) by instance type: run 1700000000</title>',
  );
  expect(html).not.toContain('Ruby benchmarks');
  expect(html).toContain('3.4.7 (not used: the synthetic workload runs no Ruby)');
});

describe('price files', () => {
  it('reads JSON maps', () => {
    expect(parsePrices('{"c7a.large": 0.1, "m5.large": "0.096", "x": -1, "free": 0}')).toEqual({
      prices: { 'c7a.large': 0.1, 'm5.large': 0.096 },
      warnings: [
        'the price file: the price of x is not a positive number; skipped',
        // a price of 0 would show the type as free, with no speed per dollar
        'the price file: the price of free is not a positive number; skipped',
      ],
    });
  });

  it('reads CSV or whitespace lines with a header and comments', () => {
    const text =
      'instance_type,price\n# on-demand, us-east-1\nc7a.large, $0.1027\nm5.large\t0.096\nbroken line here\n';
    expect(parsePrices(text, 'prices.csv')).toEqual({
      prices: { 'c7a.large': 0.1027, 'm5.large': 0.096 },
      warnings: ['prices.csv line 5: expected "instance_type,price"; skipped'],
    });
  });
});
