// Two cdk commands from one checkout at once (a `start` tearing down its fleet while `deploy` or
// another `start` runs in a second terminal): cdk locks its cloud assembly folder, so the CLI gives
// each cdk command a folder of its own under .benchfleet/cdk.out and removes it when it ends. The
// fake cdk locks its --output folder as cdk does, and fails when another holds it.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { runTool } from '../../cli/lib/exec';
import { type Sandbox, sandbox } from './helpers';

let box: Sandbox;
beforeEach(() => {
  box = sandbox({ FAKE_SLEEP_MS: '400' });
});
afterEach(() => box.restore());

const assemblies = () => join(box.dir, '.benchfleet', 'cdk.out');

test('two cdk commands at once each synthesize into a folder of their own, removed after', async () => {
  const quiet = { quiet: true };
  await Promise.all([
    runTool('cdk', ['deploy', 'Benchfleet', '--require-approval', 'never'], quiet),
    runTool('cdk', ['destroy', 'BenchfleetFleet', '--force'], quiet),
  ]);
  const calls = box.calls();
  expect(calls).toHaveLength(2);
  const [a, b] = calls.map((c) => c.output);
  expect(a).toEqual(expect.stringContaining(assemblies()));
  expect(b).toEqual(expect.stringContaining(assemblies()));
  expect(a).not.toBe(b);
  // the two ran at the same time, not one after the other
  expect(Math.max(...calls.map((c) => c.started))).toBeLessThan(Math.min(...calls.map((c) => c.ended)));
  expect(readdirSync(assemblies())).toEqual([]);
});

test('a cdk command that fails still removes its folder; cdk --version gets none', async () => {
  process.env.FAKE_FAIL = 'cdk deploy';
  await expect(runTool('cdk', ['deploy', 'Benchfleet'], { quiet: true })).rejects.toThrow(/exit code 1/);
  await runTool('cdk', ['--version'], { quiet: true, capture: true });
  const [deploy, version] = box.calls();
  expect(deploy?.output).toEqual(expect.stringContaining(assemblies()));
  expect(version?.args).toEqual(['--version']);
  expect(readdirSync(assemblies())).toEqual([]);
});

test("the folders of CLI processes that died are removed; a live process's are kept", async () => {
  const dead = spawnSync(process.execPath, ['-e', '0']).pid;
  const live = process.ppid; // jest's parent: alive while this test runs
  for (const name of [`${dead}-1`, `${dead}-2`, `${live}-1`, 'my-notes']) {
    mkdirSync(join(assemblies(), name, 'asset.abc'), { recursive: true });
  }
  await runTool('cdk', ['synth', 'Benchfleet'], { quiet: true });
  expect(readdirSync(assemblies()).sort()).toEqual([`${live}-1`, 'my-notes'].sort());
  expect(existsSync(join(assemblies(), `${live}-1`, 'asset.abc'))).toBe(true);
});
