// Price-performance of machines that run one Ruby process per vCPU, as the runners measured them:
// four 2-vCPU machines and one 8-vCPU machine of the same speed per process and the same price per
// vCPU get the same work for the money, which the per-machine figure alone (one process per
// machine) would show as four times apart.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { aggregate } from '../../site/aggregate';
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

const SAME = { fib: 1, nbody: 1 };
const PRICES = { 'c7a.large': 0.10264, 'c7a.2xlarge': 0.41056 };

/** Two runs of each type with the same timings; `vcpus` per type (undefined: no meta.json). */
function run(vcpus: Record<string, number | undefined>): string {
  const dir = tempDir();
  for (const [type, n] of Object.entries(vcpus)) {
    for (const r of [1, 2]) {
      writeTask(dir, `${type}-${r}`, {
        json: scaledJson(SAME),
        txt: scaledTxt(SAME),
        ...(n !== undefined && { meta: metaFor(type, r, { vcpus: n }) }),
      });
    }
  }
  writeManifest(
    dir,
    Object.keys(vcpus).flatMap((t) => [manifestTask(t, 1), manifestTask(t, 2)]),
  );
  return dir;
}

it('ranks by work per $/h (speed times vCPUs) when every priced type has a vCPU count', async () => {
  const loaded = await loadResults(run({ 'c7a.large': 2, 'c7a.2xlarge': 8 }), ['site']);
  const [ranking] = aggregate(loaded, { prices: PRICES }).rankings;
  const row = (t: string) => ranking?.rows.find((r) => r.instanceType === t);
  expect(row('c7a.large')).toMatchObject({ vcpus: 2, relSpeed: 1 });
  expect(row('c7a.2xlarge')).toMatchObject({ vcpus: 8, relSpeed: 1 });
  // one process per machine: the big one looks four times worse...
  expect(row('c7a.large')?.speedPerDollar).toBeCloseTo(1 / 0.10264, 6);
  expect(row('c7a.2xlarge')?.speedPerDollar).toBeCloseTo(1 / 0.41056, 6);
  // ...but a machine full of processes gets the same work per dollar from either
  expect(row('c7a.large')?.workPerDollar).toBeCloseTo(2 / 0.10264, 6);
  expect(row('c7a.2xlarge')?.workPerDollar).toBeCloseTo(8 / 0.41056, 6);
});

it('shows work per $/h as what ranks, and both types at 100 % of the best value', async () => {
  const dir = run({ 'c7a.large': 2, 'c7a.2xlarge': 8 });
  const pricesFile = join(dir, 'prices.json');
  writeFileSync(pricesFile, JSON.stringify(PRICES));
  const { outDir } = await buildSite({ resultsDir: dir, pricesFile });
  const html = readFileSync(join(outDir, 'index.html'), 'utf8');
  const price = html.slice(html.indexOf('<section id="price">'), html.indexOf('<section id="matrix">'));
  expect(price).toContain('Ranked by work per $/h: the relative speed of one Ruby process times the vCPUs');
  expect(price).toContain('<th>work per $/h (× vCPUs)</th>');
  expect(price.match(/<td class="n">100\.0 %<\/td>/g)).toHaveLength(2);
  expect(price).toMatch(
    /c7a\.2xlarge<\/th><td class="n">\$0\.4106<\/td><td class="n">8<\/td>.*<td class="n">2\.44<\/td><td class="n strong">19\.49<\/td>/,
  );
});

it('ranks by speed per $/h, and says why, when a priced type has no vCPU count', async () => {
  const dir = run({ 'c7a.large': 2, 'c7a.2xlarge': undefined });
  const pricesFile = join(dir, 'prices.json');
  writeFileSync(pricesFile, JSON.stringify(PRICES));
  const { outDir } = await buildSite({ resultsDir: dir, pricesFile });
  const html = readFileSync(join(outDir, 'index.html'), 'utf8');
  expect(html).toContain(
    'Ranked by speed per $/h (one Ruby process per machine): no meta.json gives the vCPUs of c7a.2xlarge',
  );
  // the per-machine figure ranks: the small machine first, the big one at a quarter of its value
  expect(html).toMatch(
    /c7a\.large<\/th>.*<td class="n strong">9\.74<\/td><td class="n">19\.49<\/td><td class="n">100\.0 %/,
  );
  expect(html).toMatch(
    /c7a\.2xlarge<\/th><td class="n">\$0\.4106<\/td><td class="n">–<\/td>.*<td class="n strong">2\.44<\/td><td class="n">–<\/td><td class="n">25\.0 %/,
  );
});

it('takes the most common vCPU count of a type whose tasks disagree, with a warning', async () => {
  const dir = run({ 'c7a.large': 2 });
  writeTask(dir, 'c7a.large-2', {
    json: scaledJson(SAME),
    txt: scaledTxt(SAME),
    meta: metaFor('c7a.large', 2, { vcpus: 4 }),
  });
  writeTask(dir, 'c7a.large-3', {
    json: scaledJson(SAME),
    txt: scaledTxt(SAME),
    meta: metaFor('c7a.large', 3, { vcpus: 2 }),
  });
  writeManifest(
    dir,
    [1, 2, 3].map((r) => manifestTask('c7a.large', r)),
  );
  const agg = aggregate(await loadResults(dir, ['site']), { prices: PRICES });
  expect(agg.rankings[0]?.rows[0]?.vcpus).toBe(2);
  expect(agg.warnings).toContain("c7a.large: its tasks' meta.json give 2, 4 vCPUs; price-performance uses 2");
});
