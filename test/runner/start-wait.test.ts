// A runner whose run never starts (the CLI died between launching the fleet and POST /run/start)
// gives up after --start-wait-s and powers its VM off, rather than answering `wait` for ever; once
// it has had a task, waiting for retries is its work, and it keeps at it.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createRunner } from '../../runner/agent';
import { FakeApi } from './fake-api';
import { testRunner } from './helpers';

let api: FakeApi | undefined;
afterEach(async () => {
  await api?.stop();
  api = undefined;
});

const WAIT = JSON.stringify({ status: 'wait', retry_after_seconds: 1 });

it('gives up when no task came within --start-wait-s, and runs the shutdown command', async () => {
  const a = await new FakeApi({ tasks: 0 }).start();
  api = a;
  a.rawClaims = Array.from({ length: 1000 }, () => WAIT);
  const r = testRunner(a.url, { slots: 2, runId: 1_700_000_000, startWaitS: 1 });
  const marker = join(r.workDir, 'powered-off');
  const h = createRunner({ ...r.input, shutdownOnDone: true, shutdownCommand: `touch '${marker}'` });
  const result = await h.done;
  expect(result.exitCode).toBe(1);
  expect(result.shutdownRan).toBe(true);
  expect(existsSync(marker)).toBe(true);
  expect(r.lines.join('\n')).toMatch(
    /no task came within --start-wait-s 1 s of starting \(run 1700000000 has not started, or other runners hold all of its tasks\): giving up/,
  );
}, 20_000);

it('keeps waiting past --start-wait-s once it has had a task (a retry may still come)', async () => {
  const a = await new FakeApi({ tasks: 1 }).start();
  api = a;
  let claims = 0;
  // the first claim gets the task; every later one is told to wait
  a.rawClaims = { shift: () => (claims++ === 0 ? undefined : WAIT) } as unknown as string[];
  const r = testRunner(a.url, { slots: 1, startWaitS: 1 });
  const h = createRunner(r.input);
  let settled = false;
  void h.done.then(() => {
    settled = true;
  });
  await new Promise((res) => setTimeout(res, 3000));
  expect(a.tasks[0]?.status).toBe('completed');
  expect(claims).toBeGreaterThanOrEqual(3);
  expect(settled).toBe(false);
  h.stop();
  expect((await h.done).exitCode).toBe(0);
}, 20_000);
