// POST /run/assemble: a run left assembly_failed is assembled again as a new execution `<run_id>-2`.
import { assemblyStepsFor } from '../../lambdas/adapters/local/assembly-steps';
import { LocalAssembly } from '../../lambdas/adapters/local/local-assembly';
import type { LocalStack } from '../../lambdas/adapters/local/stack';
import { AssemblyError } from '../../lambdas/core/errors';
import { client, OPERATOR, RUNNER, startTestStack, upload, waitFor } from '../helpers/api';

let stack: LocalStack;
let assembly: LocalAssembly;
beforeAll(async () => {
  stack = await startTestStack({
    assembly: (deps) => {
      let failures = 1;
      assembly = new LocalAssembly(
        () => {
          const steps = assemblyStepsFor(deps);
          return {
            ...steps,
            // the first execution meets a lasting failure (not a transient one): no retry helps
            BuildArchive: async (input) => {
              if (failures-- > 0) throw new AssemblyError('the results bucket refused the upload');
              return steps.BuildArchive(input);
            },
          };
        },
        { retryIntervalMs: 1 },
      );
      return assembly;
    },
  });
});
afterAll(() => stack.stop());

it('assembles an assembly_failed run again as a new execution, and only such a run', async () => {
  const api = client(stack.apiUrl);
  const { run_id } = (await api.start({ runs_per_instance_type: 1, local: ['a'] })).body;
  expect((await api.call('POST', '/run/assemble', { key: OPERATOR })).body).toMatchObject({
    error: 'run_in_progress',
  });
  const c = await api.claim(run_id, 'a', 'r');
  if (c.body.status !== 'assigned') throw new Error('expected a task');
  await upload(c.body.presigned_urls.result);
  await api.complete(c.body.task.id, 'r');
  const failed = await waitFor('assembly_failed', async () => {
    const r = await api.run(OPERATOR);
    return r.body.status === 'assembly_failed' ? r.body : undefined;
  });
  expect(failed.assembly_error).toContain('refused the upload');
  expect(failed.gzip_url).toBeNull();
  expect((await api.call('POST', '/run/assemble', { key: RUNNER })).status).toBe(401);
  const again = await api.call('POST', '/run/assemble', { key: OPERATOR });
  expect(again.status).toBe(202);
  const done = await waitFor('complete', async () => {
    const r = await api.run(OPERATOR);
    return r.body.status === 'complete' ? r.body : undefined;
  });
  expect(typeof done.gzip_url).toBe('string');
  expect((await api.call('POST', '/run/assemble', { key: OPERATOR })).body).toMatchObject({
    error: 'not_found',
    message: `no run to assemble again: run ${run_id} is already complete, with its archive at runs/${run_id}/results.tar.gz`,
  });
  await stack.assemblyIdle();
  expect(assembly.list().map((e) => [e.name, e.status])).toEqual([
    [String(run_id), 'failed'],
    [`${run_id}-2`, 'succeeded'],
  ]);
}, 120_000);
