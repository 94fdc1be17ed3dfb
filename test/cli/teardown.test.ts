// `benchfleet teardown [RUN_ID]`: the fleets of this folder's runs, and nothing else. Fake
// cdk/terraform/az on PATH, CloudFormation mocked (whose VMs the fleet stack holds), and a small
// API answering GET /run where a run is at work.
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import {
  CloudFormationClient,
  DescribeStacksCommand,
  type StackStatus,
} from '@aws-sdk/client-cloudformation';
import { mockClient } from 'aws-sdk-client-mock';
import { azureStatesHeld } from '../../cli/lib/azure-fleet';
import { PROJECT_ROOT } from '../../cli/lib/exec';
import { RUN_ID_TAG_KEY } from '../../lambdas/shared/fleet-plan';
import { tempDir } from '../helpers/temp-dir';
import { argv, fakeOutputs, runCli, type Sandbox, sandbox, stackGone } from './helpers';

const KEPT = 1_700_000_100; // kept up with --keep-fleet: an AWS and an Azure fleet
const LOST = 1_700_000_200; // a watch that lost track: an Azure fleet
const cfn = mockClient(CloudFormationClient);
let box: Sandbox;
let api: Server;
/** What GET /run answers: the status and body, settable per test. */
let answer: { status: number; body: Record<string, unknown> };

beforeEach(async () => {
  box = sandbox({ FAKE_AZ_STATE: '' });
  process.env.FAKE_AZ_STATE = join(box.dir, 'az.json');
  writeFileSync(process.env.FAKE_AZ_STATE, JSON.stringify({ groups: [] }));
  const state = join(box.dir, '.benchfleet');
  mkdirSync(state);
  writeFileSync(join(state, `fleet-${KEPT}.json`), '{}');
  writeFileSync(join(state, `azure-${KEPT}.tfvars.json`), '{}');
  writeFileSync(join(state, `azure-${LOST}.tfvars.json`), '{}');
  cfn.reset();
  cfn.on(DescribeStacksCommand).rejects(stackGone());
  // this folder's deployment, whose latest run (the last of these) has ended
  answer = { status: 200, body: { run_id: LOST, status: 'complete' } };
  api = createServer((req, res) => {
    const found = req.url === '/run';
    res.writeHead(found ? answer.status : 404, { 'content-type': 'application/json' });
    res.end(JSON.stringify(found ? answer.body : { error: 'not_found', message: 'no such route' }));
  });
  await new Promise<void>((r) => api.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(api.address() as AddressInfo).port}`;
  writeFileSync(join(state, 'outputs.json'), JSON.stringify(fakeOutputs(url)));
});
afterEach(() => {
  api.close();
  box.restore();
});

const file = (name: string): string => join(box.dir, '.benchfleet', name);
const teardowns = (): string[] =>
  box
    .calls()
    .map(argv)
    .filter((l) => /^cdk destroy|^terraform .* destroy|workspace select/.test(l));

it("tears down every recorded run's fleets and nothing else, and forgets them", async () => {
  const r = await runCli(['teardown']);
  expect(r.code).toBe(0);
  expect(r.stdout).toBe(
    [
      `run ${KEPT}: aws fleet torn down`,
      `run ${KEPT}: azure fleet torn down`,
      `run ${LOST}: azure fleet torn down`,
      '',
    ].join('\n'),
  );
  expect(teardowns()).toEqual([
    expect.stringMatching(
      new RegExp(`^cdk destroy BenchfleetFleet -c fleetPlan=.*fleet-${KEPT}\\.json --force$`),
    ),
    `terraform -chdir=terraform-azure workspace select run-${KEPT}`,
    expect.stringMatching(
      new RegExp(`^terraform -chdir=terraform-azure destroy .*azure-${KEPT}\\.tfvars\\.json$`),
    ),
    `terraform -chdir=terraform-azure workspace select run-${LOST}`,
    expect.stringMatching(
      new RegExp(`^terraform -chdir=terraform-azure destroy .*azure-${LOST}\\.tfvars\\.json$`),
    ),
  ]);
  // never the meta stack, the buckets or anything nuke sweeps
  expect(box.calls().map(argv).join('\n')).not.toMatch(/destroy Benchfleet( |$)|group delete/);
  for (const f of [`fleet-${KEPT}.json`, `azure-${KEPT}.tfvars.json`, `azure-${LOST}.tfvars.json`]) {
    expect(existsSync(file(f))).toBe(false);
  }
  const again = await runCli(['teardown']);
  expect(again.code).toBe(0);
  expect(again.stdout).toContain('no fleet of any run is recorded');
});

it('RUN_ID: only that run; run again, it finds nothing to do', async () => {
  const r = await runCli(['teardown', String(LOST), '--json']);
  expect(r.code).toBe(0);
  expect(JSON.parse(r.stdout)).toEqual({ runs: [{ run_id: LOST, aws: null, azure: 'torn down' }] });
  expect(existsSync(file(`azure-${KEPT}.tfvars.json`))).toBe(true);
  expect(teardowns().join('\n')).not.toContain(String(KEPT));
  // run again, or a run never launched from here: nothing to do, and no failure
  const none = await runCli(['teardown', String(LOST)]);
  expect(none.code).toBe(0);
  expect(none.stdout).toContain(`no fleet of run ${LOST} is recorded in`);
});

it('leaves the fleets of a run still at work alone: refused by RUN_ID, skipped without', async () => {
  answer.body = { run_id: LOST, status: 'running' };
  const refused = await runCli(['teardown', String(LOST)]);
  expect(refused.code).toBe(1);
  expect(refused.stderr).toContain(`run ${LOST} is still running: its fleets are at work`);
  expect(teardowns()).toEqual([]);
  const all = await runCli(['teardown']);
  expect(all.code).toBe(0);
  expect(all.stdout).toContain(`run ${LOST}: azure fleet left alone: its run is still running`);
  expect(all.stdout).toContain(`run ${KEPT}: azure fleet torn down`);
  expect(teardowns().join('\n')).not.toContain(String(LOST));
  expect(existsSync(file(`azure-${LOST}.tfvars.json`))).toBe(true);
});

it('exits 1 naming what could not be torn down, keeps its record, and goes on with the rest', async () => {
  process.env.FAKE_FAIL = 'cdk destroy';
  const r = await runCli(['teardown']);
  expect(r.code).toBe(1);
  expect(r.stdout).toMatch(new RegExp(`run ${KEPT}: aws fleet failed: .*`));
  expect(r.stdout).toContain(`run ${LOST}: azure fleet torn down`);
  expect(r.stderr).toContain(
    `the aws fleet of run ${KEPT} could not be torn down and may still be billing: run \`benchfleet teardown ${KEPT}\` again`,
  );
  expect(existsSync(file(`fleet-${KEPT}.json`))).toBe(true);
});

it("deletes an Azure run's resource group when terraform destroy fails, and forgets the run once it is gone", async () => {
  process.env.FAKE_FAIL = 'terraform -chdir=terraform-azure destroy';
  writeFileSync(
    process.env.FAKE_AZ_STATE as string,
    JSON.stringify({ groups: [{ name: `benchfleet-${LOST}` }] }), // KEPT's group is gone already
  );
  // the run's terraform state, which names what the group held
  const state = join(PROJECT_ROOT, 'terraform-azure', 'terraform.tfstate.d', `run-${LOST}`);
  mkdirSync(state, { recursive: true });
  writeFileSync(join(state, 'terraform.tfstate'), JSON.stringify({ resources: [{}] }));
  const r = await runCli(['teardown', String(LOST)]);
  // gone with the group: it names resources that no longer exist, and holds the runner key
  const stateLeft = existsSync(state);
  rmSync(state, { recursive: true, force: true });
  expect(stateLeft).toBe(false);
  expect(r.code).toBe(0);
  expect(r.stderr).toContain(
    `[azure] terraform destroy of run ${LOST} failed (\`terraform -chdir=terraform-azure destroy -input=false`,
  );
  expect(r.stderr).toContain(
    `deleting its resource group benchfleet-${LOST} instead, which holds the whole fleet`,
  );
  expect(box.calls().map(argv)).toContain(
    `az group delete --yes --name benchfleet-${LOST} --subscription 00000000-0000-4000-8000-00000000beef`,
  );
  expect(existsSync(file(`azure-${LOST}.tfvars.json`))).toBe(false);
  // a group already gone: nothing left, the record goes too
  const kept = await runCli(['teardown', String(KEPT)]);
  expect(kept.stderr).toContain(`but its resource group benchfleet-${KEPT} is gone: nothing is left`);
  expect(existsSync(file(`azure-${KEPT}.tfvars.json`))).toBe(false);
});

it('tears an Azure fleet down in the subscription its start recorded, not the current one', async () => {
  process.env.FAKE_FAIL = 'terraform -chdir=terraform-azure destroy'; // so the group delete shows where
  writeFileSync(file(`azure-${LOST}.subscription`), 'sub-of-the-run\n');
  writeFileSync(
    process.env.FAKE_AZ_STATE as string,
    JSON.stringify({ groups: [{ name: `benchfleet-${LOST}`, subscription: 'sub-of-the-run' }] }),
  );
  const r = await runCli(['teardown', String(LOST)]);
  expect(r.code).toBe(0);
  expect(r.stderr).toContain(
    `[azure] run ${LOST}'s fleet was applied in subscription sub-of-the-run, not 00000000-0000-4000-8000-00000000beef (the current one): torn down there`,
  );
  expect(box.calls().map(argv)).toContain(
    `az group delete --yes --name benchfleet-${LOST} --subscription sub-of-the-run`,
  );
  expect(existsSync(file(`azure-${LOST}.tfvars.json`))).toBe(false);
  expect(existsSync(file(`azure-${LOST}.subscription`))).toBe(false);
});

it('keeps the record, naming both failures, when the resource group cannot be deleted either', async () => {
  process.env.FAKE_FAIL = 'terraform -chdir=terraform-azure destroy';
  writeFileSync(
    process.env.FAKE_AZ_STATE as string,
    JSON.stringify({ groups: [{ name: `benchfleet-${LOST}` }] }),
  );
  rmSync(join(box.bin, 'az'));
  writeFileSync(
    join(box.bin, 'az'),
    '#!/bin/sh\n[ "$1" = account ] && { echo 00000000-0000-4000-8000-00000000beef; exit 0; }\necho "ERROR: (AuthorizationFailed) no delete on the group" >&2\nexit 1\n',
    { mode: 0o755 },
  );
  const r = await runCli(['teardown', String(LOST)]);
  expect(r.code).toBe(1);
  expect(r.stdout).toMatch(
    new RegExp(
      `run ${LOST}: azure fleet failed: terraform destroy of run ${LOST}'s Azure fleet failed \\(.*\\), and so did deleting its resource group benchfleet-${LOST} \\(\`az group exists .*\` failed with exit code 1`,
    ),
  );
  expect(existsSync(file(`azure-${LOST}.tfvars.json`))).toBe(true);
});

it("with nothing recorded here, names the Azure fleets this checkout's terraform state still holds", async () => {
  // records are per folder, terraform's states per checkout: a fleet started from another folder
  const held = 1_999_999_001;
  const states = join(PROJECT_ROOT, 'terraform-azure', 'terraform.tfstate.d');
  const state = join(states, `run-${held}`);
  mkdirSync(state, { recursive: true });
  try {
    writeFileSync(
      join(state, 'terraform.tfstate'),
      JSON.stringify({ resources: [{ type: 'azurerm_linux_virtual_machine' }] }),
    );
    for (const f of [`fleet-${KEPT}.json`, `azure-${KEPT}.tfvars.json`, `azure-${LOST}.tfvars.json`])
      rmSync(file(f));
    // by its id: a bare teardown names every state this checkout holds, a test elsewhere's too
    const r = await runCli(['teardown', String(held)]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('nothing to tear down here');
    expect(r.stderr).toContain(
      `note: this checkout's terraform-azure/ still holds the Azure fleet of run ${held}, which ${join(box.dir, '.benchfleet')} has no record of: run \`benchfleet teardown\` in the folder that started it, or \`benchfleet nuke\``,
    );
    expect(teardowns()).toEqual([]);
  } finally {
    rmSync(state, { recursive: true, force: true });
  }
});

it('counts as held only a state with resources: not an emptied one, a workspace never applied, or anything else', () => {
  const root = tempDir('bf-states-');
  const states = join(root, 'terraform-azure', 'terraform.tfstate.d');
  const put = (name: string, content?: string) => {
    mkdirSync(join(states, name), { recursive: true });
    if (content !== undefined) writeFileSync(join(states, name, 'terraform.tfstate'), content);
  };
  put('run-30', JSON.stringify({ resources: [{}] }));
  put('run-4', JSON.stringify({ resources: [{}, {}] }));
  put('run-5', JSON.stringify({ resources: [] })); // destroyed
  put('run-6'); // selected, never applied
  put('run-7', '{"resou'); // being written
  put('default', JSON.stringify({ resources: [{}] }));
  expect(azureStatesHeld(root)).toEqual([4, 30]);
  expect(azureStatesHeld(join(root, 'nowhere'))).toEqual([]);
});

it('without RUN_ID, leaves a run the API has not seen yet: its start may be launching it', async () => {
  answer.body = { run_id: KEPT, status: 'complete' }; // LOST is newer than the latest run
  const r = await runCli(['teardown']);
  expect(r.code).toBe(0);
  expect(r.stdout).toContain(`run ${KEPT}: azure fleet torn down`);
  expect(r.stdout).toContain(
    `run ${LOST}: azure fleet left alone: its run has not started (a start may be launching it: \`benchfleet teardown ${LOST}\` if none is)`,
  );
  expect(teardowns().join('\n')).not.toContain(String(LOST));
  // named, it goes: the person says no start is launching it
  const named = await runCli(['teardown', String(LOST)]);
  expect(named.code).toBe(0);
  expect(teardowns().join('\n')).toContain(`run-${LOST}`);
});

it('tears nothing down while it cannot tell whether a run is at work: an API that keeps failing, or no record of it', async () => {
  answer = { status: 503, body: { message: 'Service Unavailable' } };
  const failing = await runCli(['teardown']);
  expect(failing.stderr).toMatch(
    /could not tell whether a run is at work on this deployment \(.*503.*\), so nothing was torn down/,
  );
  expect(failing.code).toBe(1);
  rmSync(file('outputs.json'));
  const unrecorded = await runCli(['teardown', String(KEPT)]);
  expect(unrecorded.stderr).toContain(
    'this folder has no record of its deployment, so whether a run is at work there cannot be told: nothing was torn down',
  );
  expect(unrecorded.code).toBe(1);
  expect(teardowns()).toEqual([]);
});

it("refuses to tear down an AWS fleet from another region than its deployment's, where cdk would find nothing", async () => {
  writeFileSync(
    file(`fleet-${KEPT}.json`),
    JSON.stringify({ runnerKeySecretArn: 'arn:aws:secretsmanager:eu-west-1:000000000000:secret:runner' }),
  );
  const r = await runCli(['teardown', String(KEPT)]);
  expect(r.stdout).toContain(
    `run ${KEPT}: aws fleet failed: run ${KEPT}'s AWS fleet is in eu-west-1 (its deployment's region), but AWS calls here go to us-east-1: set AWS_REGION=eu-west-1 and run it again`,
  );
  expect(r.code).toBe(1);
  expect(teardowns().filter((l) => l.startsWith('cdk'))).toEqual([]);
  expect(existsSync(file(`fleet-${KEPT}.json`))).toBe(true);
});

it('waits for a fleet stack still being deployed (an interrupted deploy) before cdk destroy, saying so', async () => {
  const stack = (StackStatus: StackStatus) => ({
    Stacks: [
      {
        StackName: 'BenchfleetFleet',
        StackStatus,
        CreationTime: new Date(),
        Tags: [{ Key: RUN_ID_TAG_KEY, Value: String(KEPT) }],
      },
    ],
  });
  cfn
    .on(DescribeStacksCommand)
    .resolvesOnce(stack('UPDATE_IN_PROGRESS'))
    .resolvesOnce(stack('UPDATE_IN_PROGRESS'))
    .resolvesOnce(stack('UPDATE_ROLLBACK_IN_PROGRESS'))
    .resolves(stack('UPDATE_ROLLBACK_COMPLETE'));
  const r = await runCli(['teardown', String(KEPT)]);
  expect(r.code).toBe(0);
  expect(r.stderr).toContain(
    '[aws] the stack BenchfleetFleet is UPDATE_IN_PROGRESS (a deploy still going on in AWS, or an interrupted one); CloudFormation deletes no stack in that state, so the destroy waits for it to end (0 s so far, at most 30 min)',
  );
  // the destroy came once the stack had settled: every busy answer was read before it
  expect(cfn.commandCalls(DescribeStacksCommand).length).toBeGreaterThanOrEqual(4);
  expect(teardowns()[0]).toMatch(/^cdk destroy BenchfleetFleet /);
});
