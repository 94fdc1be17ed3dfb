// Assembly end to end in the local mode: the real core over dynalite and s3rver, the HTTP API, and
// LocalAssembly running the shared definition with the Lambda handlers' own chains.
import type { LocalAssembly } from '../../lambdas/adapters/local/local-assembly';
import type { LocalStack } from '../../lambdas/adapters/local/stack';
import type { Deps } from '../../lambdas/core/ports';
import { type ClaimResponse, Manifest } from '../../lambdas/shared/contract';
import { client, OPERATOR, startTestStack, waitFor } from '../helpers/api';
import { archiveSwitch } from '../helpers/archive-switch';
import { makeTarball, makeTarballWithTar, readArchive } from './helpers';

type Api = ReturnType<typeof client>;
type Assigned = Extract<ClaimResponse, { status: 'assigned' }>;

async function claim(api: Api, runId: number, type: string, runner: string): Promise<Assigned> {
  const c = await api.claim(runId, type, runner);
  if (c.body.status !== 'assigned') throw new Error(`expected assigned, got ${JSON.stringify(c.body)}`);
  return c.body;
}

async function put(url: string, body: Buffer): Promise<void> {
  const res = await fetch(url, { method: 'PUT', body: new Uint8Array(body) });
  if (res.status !== 200) throw new Error(`upload failed: ${res.status}`);
}

async function runStatus(api: Api, status: string): Promise<Record<string, unknown>> {
  return waitFor(`run ${status}`, async () => {
    const r = await api.run(OPERATOR);
    return r.body.status === status ? (r.body as Record<string, unknown>) : undefined;
  });
}

async function withStack(
  fn: (stack: LocalStack, api: Api) => Promise<void>,
  assembly?: (deps: Deps) => LocalAssembly,
): Promise<void> {
  const stack = await startTestStack(assembly ? { assembly } : {});
  try {
    await fn(stack, client(stack.apiUrl));
  } finally {
    await stack.stop();
  }
}

const executionsOf = (stack: LocalStack, runId: number) =>
  (stack.deps.assembly as LocalAssembly).list().filter((e) => e.run_id === runId);

it('drains a run into results.tar.gz: complete, with a fresh gzip_url and the manifest', () =>
  withStack(async (stack, api) => {
    const { run_id } = (await api.start({ runs_per_instance_type: 2, local: ['a', 'b'] })).body;
    const a1 = await claim(api, run_id, 'a', 'ra');
    await put(a1.presigned_urls.result, makeTarballWithTar({ 'output.txt': 'a1\n', 'meta.json': '{}' }));
    await api.complete(a1.task.id, 'ra');
    const a2 = await claim(api, run_id, 'a', 'ra');
    await put(
      a2.presigned_urls.result,
      await makeTarball([
        { name: '../escape.txt', data: 'x' },
        { name: 'output.txt', data: 'a2\n' },
      ]),
    );
    await api.complete(a2.task.id, 'ra');
    const b1 = await claim(api, run_id, 'b', 'rb');
    await put(b1.presigned_urls.error, await makeTarball([{ name: 'logs/stderr.log', data: 'boom\n' }]));
    await api.fail(b1.task.id, 'rb', 'benchmark_failed', { s3_error_key: b1.presigned_urls.error_key });
    const b2 = await claim(api, run_id, 'b', 'rb');
    await put(b2.presigned_urls.result, Buffer.from('corrupt'));
    await api.complete(b2.task.id, 'rb');

    const run = await runStatus(api, 'complete');
    await stack.assemblyIdle();
    expect(run).toMatchObject({ archive_key: `runs/${run_id}/results.tar.gz`, assembly_error: null });
    expect(executionsOf(stack, run_id).map((e) => [e.name, e.status])).toEqual([
      [String(run_id), 'succeeded'],
    ]);

    const res = await fetch(run.gzip_url as string);
    expect(res.status).toBe(200);
    const entries = await readArchive(Buffer.from(await res.arrayBuffer()));
    expect(entries.map((e) => e.name).sort()).toEqual(
      [
        'a-1/meta.json',
        'a-1/output.txt',
        'a-2/output.txt',
        'b-1/error/logs/stderr.log',
        'manifest.json',
      ].sort(),
    );
    const manifest = Manifest.parse(
      JSON.parse(entries.find((e) => e.name === 'manifest.json')!.data.toString()),
    );
    expect(manifest).toMatchObject({ run_id, ruby_version: '3.4.7', status: 'complete' });
    expect(manifest.tasks.map((t) => [t.instance_type, t.run, t.status, t.assembly_error === null])).toEqual([
      ['a', 1, 'completed', true],
      ['a', 2, 'completed', false],
      ['b', 1, 'failed', true],
      ['b', 2, 'completed', false],
    ]);
    expect(manifest.tasks[2]).toMatchObject({ error_type: 'benchmark_failed', runner_id: 'rb' });
  }));

it('starts exactly one assembly when the last complete and a stop race', () =>
  withStack(async (stack, api) => {
    const { run_id } = (await api.start({ runs_per_instance_type: 2, local: ['a'] })).body;
    const first = await claim(api, run_id, 'a', 'r1');
    await put(first.presigned_urls.result, await makeTarball([{ name: 'output.txt', data: '1\n' }]));
    await api.complete(first.task.id, 'r1');
    const last = await claim(api, run_id, 'a', 'r2');
    await put(last.presigned_urls.result, await makeTarball([{ name: 'output.txt', data: '2\n' }]));
    const [complete, stop] = await Promise.all([
      api.complete(last.task.id, 'r2'),
      api.call('POST', '/run/stop', { key: OPERATOR }),
    ]);
    // Whichever came first: the other is told the run is over, or its complete still counts.
    expect([200, 409]).toContain(complete.status);
    expect([200, 404]).toContain(stop.status);
    await stack.assemblyIdle();
    const run = await api.run(OPERATOR);
    expect(['complete', 'cancelled']).toContain(run.body.status);
    expect(run.body.archive_key).toBe(`runs/${run_id}/results.tar.gz`);
    expect(executionsOf(stack, run_id)).toHaveLength(1);
    expect(executionsOf(stack, run_id)[0]?.status).toBe('succeeded');
  }));

it('marks the run assembly_failed with the reason when a step keeps failing; POST /run/assemble runs it again', () => {
  const archive = archiveSwitch('the archive bucket refused the upload', { retryIntervalMs: 1 });
  archive.refused = true;
  return withStack(async (stack, api) => {
    const { run_id } = (await api.start({ runs_per_instance_type: 1, local: ['a'] })).body;
    const t = await claim(api, run_id, 'a', 'r1');
    await put(t.presigned_urls.result, await makeTarball([{ name: 'output.txt', data: 'ok\n' }]));
    await api.complete(t.task.id, 'r1');
    const failed = await runStatus(api, 'assembly_failed');
    expect(failed.assembly_error).toBe('AssemblyError: the archive bucket refused the upload');
    expect(failed.gzip_url).toBeNull();

    archive.refused = false;
    const again = await api.call('POST', '/run/assemble', { key: OPERATOR });
    expect(again.status).toBe(202);
    const done = await runStatus(api, 'complete');
    await stack.assemblyIdle();
    expect(done.assembly_error).toBeNull();
    expect(executionsOf(stack, run_id).map((e) => [e.name, e.status])).toEqual([
      [String(run_id), 'failed'],
      [`${run_id}-2`, 'succeeded'],
    ]);
  }, archive.assembly);
});
