// `benchfleet deploy` over a run at work would change its API's Lambdas and its dashboard under it:
// refused, as `start` refuses, unless --force; an API that does not answer does not stop a deploy
// (deploying may be what mends it). So is a deploy while another start launches its fleet: its run
// is not in the API yet, but the fleet stack shows it. Against a real local API, with cdk and
// CloudFormation faked.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  CloudFormationClient,
  DescribeStacksCommand,
  type StackStatus,
} from '@aws-sdk/client-cloudformation';
import { mockClient } from 'aws-sdk-client-mock';
import { type LocalStack, startLocalStack } from '../../lambdas/adapters/local/stack';
import { argv, fakeOutputs, runCli, type Sandbox, sandbox, stackGone } from './helpers';

const cfn = mockClient(CloudFormationClient);
let stack: LocalStack;
let box: Sandbox;
let runId: number;

const call = (method: string, path: string, body?: unknown) =>
  fetch(stack.apiUrl + path, {
    method,
    headers: { authorization: `Bearer ${stack.operatorKey}`, 'content-type': 'application/json' },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });

const record = (apiUrl: string) => {
  mkdirSync(join(box.dir, '.benchfleet'), { recursive: true });
  writeFileSync(join(box.dir, '.benchfleet', 'outputs.json'), JSON.stringify(fakeOutputs(apiUrl)));
};
/** The fleet stack as CloudFormation describes it: in `status`, tagged with run `id`. */
const fleetStackAs = (status: StackStatus, id: number) =>
  cfn.on(DescribeStacksCommand, { StackName: 'BenchfleetFleet' }).resolves({
    Stacks: [
      {
        StackName: 'BenchfleetFleet',
        StackStatus: status,
        CreationTime: new Date(),
        Tags: [{ Key: 'benchfleet:run-id', Value: String(id) }],
      },
    ],
  });
const deploys = () =>
  box
    .calls()
    .map(argv)
    .filter((l) => l.startsWith('cdk deploy'));

beforeAll(async () => {
  stack = await startLocalStack({ reaperIntervalS: 3600 });
  const res = await call('POST', '/run/start', {
    ruby_version: '3.4.7',
    runs_per_instance_type: 1,
    local: ['l-a'],
  });
  expect(res.status).toBe(201);
  runId = ((await res.json()) as { run_id: number }).run_id;
});
afterAll(() => stack?.stop());

beforeEach(() => {
  box = sandbox();
  process.env.FAKE_CDK_OUTPUTS = JSON.stringify(fakeOutputs(stack.apiUrl));
  cfn.reset();
  cfn.on(DescribeStacksCommand).rejects(stackGone('Benchfleet'));
});
afterEach(() => box.restore());

it('refuses while the recorded deployment has a run at work, saying what to do, and deploys nothing', async () => {
  record(stack.apiUrl);
  const r = await runCli(['deploy']);
  expect(r.code).toBe(1);
  expect(r.stderr).toContain(
    `run ${runId} is still running on this deployment, and a deploy would change its API's Lambdas and its dashboard under it; wait for it (\`benchfleet watch\`), end it (\`benchfleet stop ${runId}\`), or pass --force. Nothing was deployed.`,
  );
  expect(deploys()).toEqual([]);
});

it('asks CloudFormation for the API when this folder has no record, and refuses all the same', async () => {
  cfn.on(DescribeStacksCommand).resolves({
    Stacks: [
      {
        StackName: 'Benchfleet',
        StackStatus: 'UPDATE_COMPLETE',
        CreationTime: new Date(),
        Outputs: [{ OutputKey: 'ApiUrl', OutputValue: stack.apiUrl }],
      },
    ],
  });
  const r = await runCli(['deploy']);
  expect(r.code).toBe(1);
  expect(r.stderr).toContain(`run ${runId} is still running on this deployment`);
  expect(deploys()).toEqual([]);
});

it('deploys over it with --force', async () => {
  record(stack.apiUrl);
  const r = await runCli(['deploy', '--force']);
  expect(r.code).toBe(0);
  expect(deploys()).toHaveLength(1);
});

it('deploys when the API does not answer, with a note, and when nothing is deployed yet', async () => {
  record('http://127.0.0.1:9'); // nothing listens there
  const silent = await runCli(['deploy']);
  expect(silent.code).toBe(0);
  expect(silent.stderr).toContain(
    'note: could not ask the API at http://127.0.0.1:9 whether a run is at work (',
  );
  expect(silent.stderr).toContain('); that alone does not stop the deploy');
  expect(deploys()).toHaveLength(1);

  // a fresh folder, and CloudFormation has no meta stack: the first deploy
  box.restore();
  box = sandbox();
  process.env.FAKE_CDK_OUTPUTS = JSON.stringify(fakeOutputs(stack.apiUrl));
  const first = await runCli(['deploy']);
  expect(first.code).toBe(0);
  expect(first.stderr).not.toContain('note:');
  expect(deploys()).toHaveLength(1);
});

it('deploys once the run has ended', async () => {
  expect((await call('POST', '/run/stop', {})).status).toBe(200);
  // the stopped run assembles for a moment (longer on a busy machine): wait until it has ended
  let status = 'running';
  for (let i = 0; i < 400 && (status === 'running' || status === 'assembling'); i++) {
    await new Promise((r) => setTimeout(r, 50));
    ({ status } = (await (await call('GET', '/run')).json()) as { status: string });
  }
  expect(status).not.toMatch(/^(running|assembling)$/);
  record(stack.apiUrl);
  const r = await runCli(['deploy']);
  expect(r.code).toBe(0);
  expect(deploys()).toHaveLength(1);
});

describe('the fleet stack of another start, whose run the API cannot show yet', () => {
  // from here on the run of beforeAll has ended (the test above stopped it): the API sees no run at work
  const LAUNCHING = 2_000_000_000;

  it('refuses while it holds the fleet of a run newer than the API knows, saying what to do, and deploys nothing', async () => {
    record(stack.apiUrl);
    fleetStackAs('UPDATE_COMPLETE', LAUNCHING);
    const r = await runCli(['deploy']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      `the fleet stack BenchfleetFleet holds run ${LAUNCHING}'s fleet, and that run has not started: another start is launching it, and a deploy would change the API and the runner its VMs get under it; wait for that start (\`benchfleet status\`), or if no start is launching it any more, \`benchfleet teardown ${LAUNCHING}\` from the folder that launched it removes it; or pass --force. Nothing was deployed.`,
    );
    expect(deploys()).toEqual([]);
  });

  it('refuses while a start or teardown is at work on it, even when no API answers', async () => {
    record('http://127.0.0.1:9'); // nothing listens there
    fleetStackAs('CREATE_IN_PROGRESS', LAUNCHING);
    const r = await runCli(['deploy']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      `the fleet stack BenchfleetFleet is CREATE_IN_PROGRESS with run ${LAUNCHING}'s fleet: another start or teardown is at work on this deployment, and a deploy would change the API and the runner its VMs get under it; wait for it to end (\`benchfleet status\`), or pass --force. Nothing was deployed.`,
    );
    expect(deploys()).toEqual([]);
  });

  it('deploys, with a note, while a teardown removes it: its VMs are going away', async () => {
    record(stack.apiUrl);
    fleetStackAs('DELETE_IN_PROGRESS', LAUNCHING);
    const r = await runCli(['deploy']);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(
      `note: the fleet stack BenchfleetFleet is being torn down (run ${LAUNCHING}'s fleet); that does not stop the deploy`,
    );
    expect(deploys()).toHaveLength(1);
  });

  it('deploys over it with --force', async () => {
    record(stack.apiUrl);
    fleetStackAs('UPDATE_IN_PROGRESS', LAUNCHING);
    const r = await runCli(['deploy', '--force']);
    expect(r.code).toBe(0);
    expect(deploys()).toHaveLength(1);
  });

  it("deploys when it holds the API's latest run's fleet, kept up after that run ended", async () => {
    record(stack.apiUrl);
    fleetStackAs('UPDATE_COMPLETE', runId);
    const r = await runCli(['deploy']);
    expect(r.code).toBe(0);
    expect(deploys()).toHaveLength(1);
  });

  it('deploys when no API answers to tell whether its settled fleet has started: that run may have ended', async () => {
    record('http://127.0.0.1:9');
    fleetStackAs('UPDATE_COMPLETE', LAUNCHING);
    const r = await runCli(['deploy']);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('that alone does not stop the deploy');
    expect(deploys()).toHaveLength(1);
  });
});
