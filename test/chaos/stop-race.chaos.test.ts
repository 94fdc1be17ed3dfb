// /run/stop racing the last complete: whichever wins, the loser gets a JSON answer (200 or 409),
// the task ends completed or cancelled (never both, never stuck), and the run ends with its
// archive, counters equal to a recount and a manifest that agrees.
import { ClaimResponse } from '../../lambdas/shared/contract';
import { client, OPERATOR, startTestStack, upload } from '../helpers/api';
import { expectDrained } from './helpers';

it('stop racing the last complete ends the run either way with everything accounted for', async () => {
  const stack = await startTestStack({ heartbeatTimeoutS: 3, reaperIntervalS: 1 });
  const api = client(stack.apiUrl);
  const seen = new Set<string>();
  try {
    let runId = 0;
    for (let round = 0; round < 4; round++) {
      const started = await api.start({
        runs_per_instance_type: 2,
        local: ['sr'],
        ...(runId ? { run_id: runId + 1 } : {}),
      });
      expect(started.status).toBe(201);
      runId = started.body.run_id;
      const ids: number[] = [];
      for (const runner of ['sr-1', 'sr-2']) {
        const c = ClaimResponse.parse((await api.claim(runId, 'sr', runner)).body);
        if (c.status !== 'assigned') throw new Error(`expected a task, got ${c.status}`);
        await upload(c.presigned_urls.result);
        ids.push(c.task.id);
      }
      const [first, last] = ids as [number, number];
      expect((await api.complete(first, 'sr-1')).status).toBe(200);
      // alternate who is sent first; the server decides who wins
      const sendDone = () => api.complete(last, 'sr-2');
      const sendStop = () => api.call('POST', '/run/stop', { key: OPERATOR });
      const [done, stop] =
        round % 2 === 0
          ? await Promise.all([sendDone(), sendStop()])
          : await Promise.all([sendStop(), sendDone()]).then(([s, d]) => [d, s] as const);
      expect([200, 409]).toContain(done.status);
      expect([200, 409]).toContain(stop.status);
      if (done.status === 409) expect(done.body).toMatchObject({ error: 'task_finished' });
      const completeWon = done.status === 200;
      seen.add(completeWon ? 'complete won' : 'stop won');
      await stack.assemblyIdle();
      const runStatus = (await api.run()).body.status;
      // a stop that lost to the draining complete may still mark the run cancelled: both are final
      expect(['complete', 'cancelled']).toContain(runStatus);
      await expectDrained(
        stack,
        runId,
        {},
        {
          runStatus: runStatus as 'complete' | 'cancelled',
          cancelled: completeWon ? [] : [last],
        },
      );
    }
  } finally {
    await stack.stop();
  }
  expect(seen.size).toBeGreaterThan(0);
}, 60_000);
