// status, watch and stop against the real local API stack.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type LocalStack, startLocalStack } from '../../lambdas/adapters/local/stack';
import { fakeOutputs, runCli, type Sandbox, sandbox } from './helpers';

const OPERATOR = 'cli-run-operator';
let stack: LocalStack;
let box: Sandbox;

beforeAll(async () => {
  // The in-process API would print its CloudWatch metric lines into the CLI's stdout.
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
  stack = await startLocalStack({
    operatorKey: OPERATOR,
    runnerKey: 'cli-run-runner',
    reaperIntervalS: 3600,
  });
});
afterAll(() => stack.stop());
beforeEach(() => {
  box = sandbox({ BENCHFLEET_API_URL: stack.apiUrl });
});
afterEach(() => box.restore());

/** POST /run/start of one task of `type`, with a run id `ahead` seconds past the clock. */
async function startOne(type: string, ahead: number): Promise<{ run_id: number; status: number }> {
  const res = await fetch(`${stack.apiUrl}/run/start`, {
    method: 'POST',
    headers: { authorization: `Bearer ${OPERATOR}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      ruby_version: '3.4.7',
      runs_per_instance_type: 1,
      local: [type],
      run_id: Math.floor(Date.now() / 1000) + ahead,
    }),
  });
  return { run_id: ((await res.json()) as { run_id: number }).run_id, status: res.status };
}

it('status says when no run was started, and needs an API', async () => {
  const none = await runCli(['status']);
  expect(none.code).toBe(1);
  expect(none.stderr).toContain('no run has been started');
  // a local API is started by POST /run/start, not by `benchfleet start` (which launches cloud VMs)
  expect(none.stderr).toContain('POST /run/start (a `benchfleet local --serve` API');
  // a URL with a path the API has no route for: its 404 is not "no run"
  const wrong = await runCli(['status', '--api-url', `${stack.apiUrl}/prod`]);
  expect(wrong.code).toBe(1);
  expect(wrong.stderr).toContain(
    `GET ${stack.apiUrl}/prod/run answered 404 (no route GET /prod/run): this is not a Benchfleet API URL (from --api-url); use ApiUrl from .benchfleet/outputs.json or the URL \`benchfleet local\` printed`,
  );
  expect(wrong.stderr).not.toContain('no run has been started');
  delete process.env.BENCHFLEET_API_URL;
  const noApi = await runCli(['status']);
  expect(noApi.code).toBe(1);
  // the three ways to name one: the flag, its variable, and a deployment's record
  expect(noApi.stderr).toContain(
    'no API to talk to: pass --api-url (or set BENCHFLEET_API_URL) with the URL `benchfleet local --serve` printed, or run `benchfleet deploy`',
  );
});

it('status, stop and watch follow a run to its end', async () => {
  const res = await fetch(`${stack.apiUrl}/run/start`, {
    method: 'POST',
    headers: { authorization: `Bearer ${OPERATOR}`, 'content-type': 'application/json' },
    body: JSON.stringify({ ruby_version: '3.4.7', runs_per_instance_type: 2, local: ['local-a', 'local-b'] }),
  });
  const { run_id: runId } = (await res.json()) as { run_id: number };

  const status = await runCli(['status']);
  expect(status.code).toBe(0);
  expect(status.stdout).toContain(`run ${runId} running: 0/4 finished`);
  expect(status.stdout).toMatch(/local\s+local-a\s+\[\.{10}\] 0\/2 completed, 2 pending/);
  const json = JSON.parse((await runCli(['status', '--json'])).stdout);
  expect(json.run).toMatchObject({ run_id: runId, status: 'running', gzip_url: null });
  expect(json.tasks).toHaveLength(4);

  const badKey = await runCli(['stop', '--api-key', 'wrong']);
  expect(badKey.code).toBe(1);
  expect(badKey.stderr).toContain('401');
  expect(badKey.stderr).toContain(`the API at ${stack.apiUrl} refused the operator key given with --api-key`);

  const stop = await runCli(['stop', '--api-key', OPERATOR]);
  expect(stop.code).toBe(0);
  // No deployment here, so no `benchfleet download` (it reads the AWS results bucket).
  expect(stop.stdout).not.toContain('benchfleet download');
  expect(stop.stdout).toContain(`benchfleet status --api-url ${stack.apiUrl} --api-key <operator key>`);

  const watch = await runCli(['watch', '--json']);
  expect(watch.code).toBe(0);
  const views = watch.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { status: string });
  expect(views.at(-1)?.status).toBe('cancelled');
});

it('watch says how to get the results: `download` only where a deployment is recorded', async () => {
  const { run_id: runId } = await startOne('local-c', 100);
  expect((await runCli(['stop', '--api-key', OPERATOR])).code).toBe(0);

  // Against a local API (no .benchfleet/outputs.json): `benchfleet download` could not work.
  const local = await runCli(['watch']);
  expect(local.code).toBe(0);
  expect(local.stdout).toContain(`run ${runId} cancelled`);
  expect(local.stdout).not.toContain('benchfleet download');
  expect(local.stdout).toContain(
    `A run \`benchfleet local\` started itself is saved into results/${runId}/ by it; for one started over --serve: get the archive's link with \`benchfleet status --api-url ${stack.apiUrl} --api-key <operator key>\``,
  );
  expect(local.stdout).toContain(`\`benchfleet site results/${runId}\``);

  // With the deployment's outputs, download is the way.
  mkdirSync(join(box.dir, '.benchfleet'), { recursive: true });
  writeFileSync(join(box.dir, '.benchfleet', 'outputs.json'), JSON.stringify(fakeOutputs(stack.apiUrl)));
  const deployed = await runCli(['watch']);
  expect(deployed.code).toBe(0);
  expect(deployed.stdout).toContain(`Get the results with \`benchfleet download ${runId}\``);
});

it('stop after the run has ended: nothing to stop, exit 0, and where its results are', async () => {
  const { run_id: runId, status } = (await (await fetch(`${stack.apiUrl}/run`)).json()) as {
    run_id: number;
    status: string;
  };
  expect(status).toBe('cancelled'); // the last test's, stopped and assembled

  const local = await runCli(['stop', '--api-key', OPERATOR]);
  expect(local.stderr).toBe('');
  expect(local.code).toBe(0);
  expect(local.stdout).toContain(`nothing to stop: run ${runId} is already cancelled. `);
  expect(local.stdout).not.toContain('answered 404');
  // no deployment recorded: `download` could not fetch it
  expect(local.stdout).not.toContain('benchfleet download');
  const json = await runCli(['stop', '--api-key', OPERATOR, '--json']);
  expect(json.code).toBe(0);
  expect(JSON.parse(json.stdout)).toEqual({
    message: expect.stringContaining(`nothing to stop: run ${runId} is already cancelled`),
    run_id: runId,
    status: 'cancelled',
    stopped: false,
  });

  mkdirSync(join(box.dir, '.benchfleet'), { recursive: true });
  writeFileSync(join(box.dir, '.benchfleet', 'outputs.json'), JSON.stringify(fakeOutputs(stack.apiUrl)));
  for (const args of [[], [String(runId)]]) {
    const deployed = await runCli(['stop', ...args, '--api-key', OPERATOR]);
    expect(deployed.code).toBe(0);
    expect(deployed.stdout).toBe(
      `nothing to stop: run ${runId} is already cancelled; \`benchfleet download ${runId}\` fetches its results\n`,
    );
  }
});

it('stop RUN_ID stops that run only: another current run is left running, and a bad id is refused', async () => {
  // the last test's run may still be assembling
  await new Promise((r) => setTimeout(r, 200));
  const { run_id: runId, status } = await startOne('local-d', 200);
  expect(status).toBe(201);

  // the run this person meant ended, and someone else's is current now
  const other = await runCli(['stop', String(runId - 1), '--api-key', OPERATOR]);
  expect(other.stderr).toContain(
    `run ${runId - 1} is not in progress: the current run is ${runId} (running); nothing was stopped`,
  );
  expect(other.code).toBe(1);
  const bad = await runCli(['stop', '12x', '--api-key', OPERATOR]);
  expect(bad.stderr).toContain('"12x" is not a run id (a positive integer)');
  expect(bad.code).toBe(1);
  const still = await fetch(`${stack.apiUrl}/run`);
  expect(((await still.json()) as { status: string }).status).toBe('running');

  const mine = await runCli(['stop', String(runId), '--api-key', OPERATOR, '--json']);
  expect(mine.code).toBe(0);
  expect(JSON.parse(mine.stdout)).toMatchObject({
    run_id: runId,
    message: expect.stringContaining('stopped'),
    stopped: true,
  });
});
