// A host whose work dir is full (AL2023's /tmp is a small tmpfs) cannot write result.tar.gz: that is
// this host's trouble, not the upload's nor the benchmark's. The task fails as provision_failed
// (retried elsewhere) with a message naming the full disk and the path, and the host backs off.
// The full disk is /dev/full, which refuses every write with ENOSPC, linked where the tarball goes.
import { existsSync, mkdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { startRunner } from '../../runner/agent';
import { FakeApi } from './fake-api';
import { type TestRunner, testRunner, waitFor } from './helpers';

const full = existsSync('/dev/full') ? it : it.skip;
let api: FakeApi;
afterEach(() => api.stop());

/**
 * Runs the runner with the full disk planted in its task folders once its start-up look for
 * folders a killed runner left is over (they would be taken for those): at its first claim.
 */
async function runPlanted(r: TestRunner, plant: () => void) {
  let release = (): void => undefined;
  api.claimGate = new Promise<void>((go) => {
    release = go;
  });
  const done = startRunner(r.input);
  await waitFor(() => api.calls.some((c) => c.endsWith('/claim')), 10_000, 'the first claim');
  plant();
  release();
  return done;
}

full('fails as provision_failed saying the disk is full, and backs off after three', async () => {
  api = await new FakeApi({ tasks: 4, benchmarks: ['fib'] }).start();
  const r = testRunner(api.url, { slots: 1, infraBackoffS: 0.05 });
  const res = await runPlanted(r, () => {
    for (const t of api.tasks) {
      const dir = join(r.workDir, `task-${t.task.id}-a1-s0`);
      mkdirSync(dir, { recursive: true });
      symlinkSync('/dev/full', join(dir, 'result.tar.gz'));
    }
  });
  expect(res.tasksFailed).toBe(4);
  for (const t of api.tasks) {
    expect(t.fail?.error_type).toBe('provision_failed');
    expect(t.fail?.error_message).toMatch(/disk is full/);
    expect(t.fail?.error_message).toContain(join(r.workDir, `task-${t.task.id}-a1-s0`, 'result.tar.gz'));
  }
  const backoffs = r.lines.filter((l) => /before claiming again/.test(l));
  // before the 4th claim, and before the claim after it (which answers done)
  expect(backoffs).toHaveLength(2);
  expect(backoffs[0]).toMatch(/failed its last 3 tasks/);
  expect(backoffs[1]).toMatch(/failed its last 4 tasks/);
});

full(
  'fails as provision_failed when the workload cannot write its output files for a full disk',
  async () => {
    api = await new FakeApi({ tasks: 1, benchmarks: ['fib'] }).start();
    const r = testRunner(api.url, { slots: 1 });
    const [t] = api.tasks;
    if (!t) throw new Error('no task');
    // the synthetic workload's first output file, where ruby-bench would write its output_001.txt
    const out = join(r.workDir, `task-${t.task.id}-a1-s0`, 'out');
    const res = await runPlanted(r, () => {
      mkdirSync(out, { recursive: true });
      symlinkSync('/dev/full', join(out, 'output_001.txt'));
    });
    expect(res.tasksFailed).toBe(1);
    expect(t.fail?.error_type).toBe('provision_failed');
    // a failed write names no file (ENOSPC from write(2)): the message names the output folder
    expect(t.fail?.error_message).toMatch(/^the disk is full: cannot write /);
    expect(t.fail?.error_message).toContain(`${out} (`);
  },
);

full('a task that completes ends the back-off of the failures before it', async () => {
  api = await new FakeApi({ tasks: 6, benchmarks: ['fib'] }).start();
  const r = testRunner(api.url, { slots: 1, infraBackoffS: 0.05 });
  // the first three tasks (claimed in order) meet a full disk, the next three do not
  const res = await runPlanted(r, () => {
    for (const t of api.tasks.slice(0, 3)) {
      const dir = join(r.workDir, `task-${t.task.id}-a1-s0`);
      mkdirSync(dir, { recursive: true });
      symlinkSync('/dev/full', join(dir, 'result.tar.gz'));
    }
  });
  expect(res).toMatchObject({ tasksFailed: 3, tasksCompleted: 3 });
  // one back-off, before the 4th claim: the 4th task completed, so the later claims wait for nothing
  expect(r.lines.filter((l) => /before claiming again/.test(l))).toHaveLength(1);
});

describe('a work dir whose disk has too little room for a task', () => {
  it('claims nothing while the room is short, says so, and claims once there is room', async () => {
    api = await new FakeApi({ tasks: 1, benchmarks: ['fib'] }).start();
    let free = 10 * 1024 ** 2; // 10 MB: under the 64 MB a synthetic task wants
    const r = testRunner(api.url, { slots: 1, infraBackoffS: 0.05, freeBytes: () => free });
    const done = startRunner(r.input);
    await waitFor(() => r.lines.filter((l) => /not claiming/.test(l)).length >= 2, 10_000, 'two looks');
    expect(api.calls.filter((c) => c.endsWith('/claim'))).toEqual([]);
    expect(r.lines.join('\n')).toContain(
      `the disk of --work-dir ${r.workDir} has 10 MB free, under the 64 MB a task needs: not claiming`,
    );
    free = 10 * 1024 ** 3;
    const res = await done;
    expect(res.tasksCompleted).toBe(1);
  });

  it('ends the slot after 15 looks without room, leaving the tasks to other hosts', async () => {
    api = await new FakeApi({ tasks: 2, benchmarks: ['fib'] }).start();
    const r = testRunner(api.url, { slots: 2, infraBackoffS: 0.01, freeBytes: () => 1024 ** 2 });
    const res = await startRunner(r.input);
    expect(res).toMatchObject({ tasksCompleted: 0, tasksFailed: 0 });
    expect(api.calls.filter((c) => c.endsWith('/claim'))).toEqual([]);
    expect(api.tasks.every((t) => t.status === 'pending')).toBe(true);
    expect(r.lines.filter((l) => /this slot stops claiming and ends/.test(l))).toHaveLength(2);
  });
});
