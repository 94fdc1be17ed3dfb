// The local server killed during assembly and started again on the same data dir: the run left
// `assembling` is assembled again and ends complete, with its keys and tasks intact.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLocalStack } from '../../lambdas/adapters/local/stack';
import { client, OPERATOR, RUNNER, upload, waitFor } from '../helpers/api';

it('resumes a run left assembling when the local server starts again on its data dir', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'bf-restart-'));
  // First server: its assembly never gets going, as if the process died right after the drain.
  let started = 0;
  const first = await startLocalStack({
    dataDir,
    operatorKey: OPERATOR,
    runnerKey: RUNNER,
    reaperIntervalS: 3600,
    assembly: () => ({
      start: async () => {
        started++;
        return 'started' as const;
      },
    }),
  });
  const api = client(first.apiUrl);
  const { run_id } = (await api.start({ runs_per_instance_type: 1, local: ['a', 'b'] })).body;
  for (const type of ['a', 'b']) {
    const c = await api.claim(run_id, type, `r-${type}`);
    if (c.body.status !== 'assigned') throw new Error('expected a task');
    await upload(c.body.presigned_urls.result);
    expect((await api.complete(c.body.task.id, `r-${type}`)).status).toBe(200);
  }
  expect((await api.run()).body.status).toBe('assembling');
  expect(started).toBe(1);
  await first.stop();

  // Second server on the same data dir (keys come from it too): the assembly runs for real.
  const second = await startLocalStack({ dataDir, reaperIntervalS: 3600 });
  try {
    expect(second.operatorKey).toBe(OPERATOR);
    const api2 = client(second.apiUrl);
    const run = await waitFor('the resumed assembly', async () => {
      const r = await api2.run(OPERATOR);
      return r.body.status === 'complete' ? r.body : undefined;
    });
    expect(run.tasks).toMatchObject({ total: 2, completed: 2 });
    expect(typeof run.gzip_url).toBe('string');
    const archive = await fetch(run.gzip_url as string);
    expect(archive.status).toBe(200);
    expect(Buffer.from(await archive.arrayBuffer()).subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b]));
  } finally {
    await second.stop();
  }
}, 120_000);
