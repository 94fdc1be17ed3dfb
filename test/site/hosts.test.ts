// Where each type's runs ran: a type whose runs all came from one VM has an interval that says
// nothing of how its VMs differ, and a type whose VMs ran partly idle is not compared like for
// like with types whose VMs ran full (types of any size that all ran full are). The page says so, and stays silent when the
// meta.json (older runners) do not tell.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RunnerMeta } from '../../lambdas/shared/contract';
import { aggregate } from '../../site/aggregate';
import { buildSite } from '../../site/build';
import { loadResults } from '../../site/load';
import {
  manifestTask,
  metaFor,
  olderMeta,
  scaledJson,
  standardRun,
  TYPE_FACTORS,
  tempDir,
  writeManifest,
  writeTask,
} from './helpers/run-folder';

type Over = Partial<RunnerMeta>;
/** Rewrites the meta.json of each run of `type`; `over` may depend on the run. */
const rewriteMeta = (dir: string, type: string, over: (run: number) => Over, make = metaFor): void => {
  for (const run of [1, 2, 3]) {
    writeFileSync(join(dir, `${type}-${run}`, 'meta.json'), JSON.stringify(make(type, run, over(run))));
  }
};
const onVm = (host: string) => (): Over => ({ host_id: host, runner_id: `${host}-0` });
/** Runs on VMs of `vcpus`, with `busy[run - 1]` benchmarks at once at most. */
const crowd =
  (busy: number[], vcpus = 2) =>
  (run: number): Over => ({
    vcpus,
    busy_slots_at_start: 1,
    busy_slots_max: busy[run - 1] ?? 1,
  });
const warningsOf = async (dir: string): Promise<string[]> => aggregate(await loadResults(dir)).warnings;
const about = (ws: string[]): string[] =>
  ws.filter((w) => w.startsWith('every run of these types') || w.startsWith("the types' VMs were not"));

const ONE_VM_TAIL =
  '. Their 95 % intervals show how runs vary on that one VM, not how one VM of the type differs from ' +
  'another (another physical server, CPU stepping or neighbours in the cloud), so they can look surer ' +
  "than they are. To measure that too, set runs_per_instance_type above the type's vCPU count: a VM " +
  'runs one benchmark per vCPU, so its runs then spread over two or more VMs';
const LOAD_TAIL =
  ' (the most vCPUs running a benchmark at once). A VM with idle vCPUs leaves each benchmark more memory ' +
  'bandwidth, cache and turbo headroom than a full one, so a type whose VMs ran partly idle looks faster ' +
  'per run than it would full, and its work per $/h, which counts a full VM, is overstated. To compare ' +
  "full machines, set runs_per_instance_type to a multiple of every type's vCPU count";

it('says nothing when every run had a VM of its own, alone', async () => {
  expect(about(await warningsOf(standardRun()))).toEqual([]);
});

it('names the types whose runs all came from one VM, and the VM', async () => {
  const dir = standardRun();
  rewriteMeta(dir, 'm5.large', onVm('i-0aaa'));
  rewriteMeta(dir, 'c7a.large', onVm('i-0ccc'));
  // c8g.large: two runs on one VM and one on another is two VMs
  rewriteMeta(dir, 'c8g.large', (run) => onVm(run === 3 ? 'i-0eee' : 'i-0ddd')());
  expect(about(await warningsOf(dir))).toEqual([
    `every run of these types came from a single VM: c7a.large (3 runs on i-0ccc) and m5.large (3 runs on i-0aaa)${ONE_VM_TAIL}`,
  ]);
});

it('names the types whose VMs ran partly idle beside types whose VMs ran full', async () => {
  const dir = standardRun();
  // m5.large: 2 of 2 vCPUs busy (full); c7a.large: 8 of 8 (full, a larger VM); c8g.large: each
  // run alone on a 4-vCPU VM, at most 1 or 2 of its vCPUs busy
  rewriteMeta(dir, 'm5.large', crowd([2, 2, 2]));
  rewriteMeta(dir, 'c7a.large', crowd([8, 8, 8], 8));
  rewriteMeta(dir, 'c8g.large', crowd([1, 1, 2], 4));
  const html = await buildSite({ resultsDir: dir });
  const expected =
    "the types' VMs were not loaded alike: c8g.large at most 1 to 2 of 4 vCPUs busy; c7a.large and " +
    `m5.large full${LOAD_TAIL} (8 here)`;
  expect(about(html.warnings)).toEqual([expected]);
  const page = readFileSync(html.indexHtml, 'utf8');
  expect(page).toContain('c8g.large at most 1 to 2 of 4 vCPUs busy');
  // the hosts table gives each task's VM and its busy slots (at its start / at most)
  expect(page).toContain('<td>vm-c7a.large-2</td>');
  expect(page).toContain('<td class="n">1 / 8</td>');
});

it('keeps quiet when every VM ran full, whatever its size: the comparison work per $/h makes', async () => {
  const dir = standardRun();
  rewriteMeta(dir, 'm5.large', crowd([2, 2, 2]));
  rewriteMeta(dir, 'c7a.large', crowd([8, 8, 8], 8));
  rewriteMeta(dir, 'c8g.large', crowd([16, 16, 16], 16));
  expect(about(await warningsOf(dir))).toEqual([]);
});

it('keeps quiet when the types differ by less than half a VM on average', async () => {
  const dir = standardRun(); // every run alone on a 2-vCPU VM: half full
  rewriteMeta(dir, 'c7a.large', crowd([1, 2, 2])); // two thirds full on average
  expect(about(await warningsOf(dir))).toEqual([]);
});

it('reads meta.json from older runners without the fields: same ranking, no warning about them', async () => {
  const modern = standardRun();
  const older = standardRun();
  for (const type of Object.keys(TYPE_FACTORS)) {
    // one VM for all, crowded: what would warn if the fields were there
    rewriteMeta(older, type, () => ({ runner_id: 'one-vm-0' }), olderMeta);
  }
  const meta = JSON.parse(readFileSync(join(older, 'm5.large-1', 'meta.json'), 'utf8'));
  expect(meta).not.toHaveProperty('host_id');
  expect(meta).not.toHaveProperty('image_digest');
  const site = await buildSite({ resultsDir: older });
  expect(site.warnings).toEqual((await buildSite({ resultsDir: modern })).warnings);
  expect(site.warnings.filter((w) => /meta\.json|VM/.test(w))).toEqual([]);
  const [a, b] = [aggregate(await loadResults(older)), aggregate(await loadResults(modern))];
  expect(a.rankings.map((r) => r.rows.map((x) => [x.instanceType, x.relSpeed]))).toEqual(
    b.rankings.map((r) => r.rows.map((x) => [x.instanceType, x.relSpeed])),
  );
  expect(readFileSync(site.indexHtml, 'utf8')).toContain('<td>–</td>');
});

it('leaves out types whose meta.json do not say, and local types', async () => {
  const dir = standardRun();
  // no host_id, no busy slots: older runners
  rewriteMeta(dir, 'm5.large', onVm('i-0aaa'), olderMeta);
  rewriteMeta(dir, 'c8g.large', () => ({}), olderMeta);
  rewriteMeta(dir, 'c7a.large', (run) => ({ ...onVm('i-0ccc')(), ...crowd([8, 8, 8], 8)(run) }));
  // c7a.large alone is one type: nothing to compare its load with, but its one VM is said
  expect(about(await warningsOf(dir))).toEqual([
    `every run of these types came from a single VM: c7a.large (3 runs on i-0ccc)${ONE_VM_TAIL}`,
  ]);

  // local runners: every type on the one machine, so neither warning applies
  const local = tempDir();
  const tasks = [];
  for (const [type, busy] of [
    ['small', 1],
    ['large', 4],
  ] as const) {
    for (const run of [1, 2]) {
      writeTask(local, `${type}-${run}`, {
        json: scaledJson({ fib: busy, nbody: 1 }),
        meta: metaFor(type, run, {
          provider: 'local',
          host_id: `local-${type}`,
          busy_slots_at_start: 1,
          busy_slots_max: busy,
        }),
      });
      tasks.push(manifestTask(type, run, { provider: 'local' }));
    }
  }
  writeManifest(local, tasks);
  expect(about(await warningsOf(local))).toEqual([]);
});
