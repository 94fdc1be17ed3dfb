// `benchfleet local --data-dir D` started again after a run in D ended with an archive whose results
// never reached results/<run-id>/ (the run finished while the last `local` was quitting, or it died
// during the download): the restart delivers that run first and says so, or, when it cannot,
// prints where the archive is and how to unpack it; then it runs the config as usual.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../helpers/cli';

jest.setTimeout(120_000);

let dir: string;
let dataDir: string;
let results: string;
let config: string;
let first: number;

async function local(): Promise<{ code: number | null; stderr: string; runId: number }> {
  const out = await runCli([
    'local',
    '-c',
    config,
    '--synthetic-size',
    '0',
    '--slots',
    '1',
    '--data-dir',
    dataDir,
    '--results-dir',
    results,
  ]);
  const m = out.stderr.match(/^== run (\d+): /m);
  if (out.code !== 0 || !m) throw new Error(`benchfleet local exited ${out.code}; stderr:\n${out.stderr}`);
  return { code: out.code, stderr: out.stderr, runId: Number(m[1]) };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'bf-local-restart-'));
  dataDir = join(dir, 'data');
  results = join(dir, 'results');
  config = join(dir, 'run.json');
  writeFileSync(config, '{"ruby_version": "3.4.7", "runs_per_instance_type": 1, "local": ["solo"]}\n');
  first = (await local()).runId;
  expect(readdirSync(results)).toEqual([String(first)]);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it('delivers the finished run whose results never reached the results folder, then runs the config', async () => {
  // as a quit during the run leaves it: the folder the run took before it started, empty
  rmSync(join(results, String(first)), { recursive: true });
  mkdirSync(join(results, String(first)));
  // and the task folder of a runner killed with its `local` (SIGKILL: nothing cleaned up)
  const stale = join(dataDir, 'runner-work', 'solo', 'task-170000000101-a1-s0');
  mkdirSync(join(stale, 'out'), { recursive: true });
  writeFileSync(join(stale, 'out', 'output_001.txt'), 'half a result\n');
  const again = await local();
  expect(existsSync(stale)).toBe(false);
  const delivering = again.stderr.indexOf(
    `== run ${first} ended complete after the last \`benchfleet local\` on this data dir stopped, and its results never reached ${join(results, String(first))}: delivering them before the new run ==`,
  );
  expect(delivering).toBeGreaterThanOrEqual(0);
  expect(again.stderr.indexOf(`== download the archive of run ${first} into`)).toBeGreaterThan(delivering);
  expect(again.stderr.indexOf(`== run ${again.runId}: `)).toBeGreaterThan(delivering);
  expect(existsSync(join(results, String(first), 'manifest.json'))).toBe(true);
  expect(existsSync(join(results, String(first), 'site', 'index.html'))).toBe(true);
  expect(readdirSync(results).sort()).toEqual([String(first), String(again.runId)].sort());
});

it('when the finished run cannot be delivered, says where its archive is and how to unpack it', async () => {
  // the latest run in the data dir, its results gone and its archive damaged in the local S3
  const latest = Math.max(...readdirSync(results).map(Number));
  rmSync(join(results, String(latest)), { recursive: true });
  const object = join(
    dataDir,
    's3',
    'benchfleet-results',
    'runs',
    String(latest),
    'results.tar.gz._S3rver_object',
  );
  writeFileSync(object, 'x'.repeat(statSync(object).size));
  const again = await local();
  const kept = join(dataDir, `results-${latest}.tar.gz`);
  expect(again.stderr).toContain(`run ${latest}'s results could not be delivered: `);
  expect(again.stderr).toContain(
    `the archive is kept in ${kept}: unpack it with \`mkdir -p DIR && tar -xzf ${kept} -C DIR\``,
  );
  expect(existsSync(kept)).toBe(true);
  expect(existsSync(join(results, String(latest)))).toBe(false);
  // the config's run still ran and was delivered
  expect(existsSync(join(results, String(again.runId), 'manifest.json'))).toBe(true);
  expect(readdirSync(results).filter((f) => f.includes('.partial-'))).toEqual([]);
});
