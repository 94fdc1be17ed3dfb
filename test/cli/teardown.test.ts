// `benchfleet teardown [RUN_ID]`: the fleets of this folder's runs, and nothing else. Fake
// cdk/terraform/az on PATH, CloudFormation mocked (whose VMs the fleet stack holds), and a small
// API answering GET /run where a run is at work.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { mockClient } from 'aws-sdk-client-mock';
import { argv, fakeOutputs, runCli, type Sandbox, sandbox } from './helpers';
import { fleetStackGone } from './start-setup';

const KEPT = 1_700_000_100; // kept up with --keep-fleet: an AWS and an Azure fleet
const LOST = 1_700_000_200; // a watch that lost track: an Azure fleet
const cfn = mockClient(CloudFormationClient);
let box: Sandbox;
let api: Server | undefined;

beforeEach(() => {
  box = sandbox({ FAKE_AZ_STATE: '' });
  process.env.FAKE_AZ_STATE = join(box.dir, 'az.json');
  writeFileSync(process.env.FAKE_AZ_STATE, JSON.stringify({ groups: [] }));
  const state = join(box.dir, '.benchfleet');
  mkdirSync(state);
  writeFileSync(join(state, `fleet-${KEPT}.json`), '{}');
  writeFileSync(join(state, `azure-${KEPT}.tfvars.json`), '{}');
  writeFileSync(join(state, `azure-${LOST}.tfvars.json`), '{}');
  cfn.reset();
  cfn.on(DescribeStacksCommand).rejects(fleetStackGone());
});
afterEach(() => {
  api?.close();
  api = undefined;
  box.restore();
});

const file = (name: string): string => join(box.dir, '.benchfleet', name);
const teardowns = (): string[] =>
  box
    .calls()
    .map(argv)
    .filter((l) => /^cdk destroy|^terraform .* destroy|workspace select/.test(l));

/** This folder's deployment, whose API says run `runId` is `status`. */
async function deployment(runId: number, status: string): Promise<void> {
  api = createServer((req, res) => {
    res.writeHead(req.url === '/run' ? 200 : 404, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ run_id: runId, status }));
  });
  const server = api;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  writeFileSync(file('outputs.json'), JSON.stringify(fakeOutputs(url)));
}

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

it('RUN_ID: only that run; a run with no fleet recorded here is refused', async () => {
  const r = await runCli(['teardown', String(LOST), '--json']);
  expect(r.code).toBe(0);
  expect(JSON.parse(r.stdout)).toEqual({ runs: [{ run_id: LOST, aws: null, azure: 'torn down' }] });
  expect(existsSync(file(`azure-${KEPT}.tfvars.json`))).toBe(true);
  expect(teardowns().join('\n')).not.toContain(String(KEPT));
  const none = await runCli(['teardown', '42']);
  expect(none.code).toBe(1);
  expect(none.stderr).toContain('no fleet of run 42 is recorded in');
});

it('leaves the fleets of a run still at work alone: refused by RUN_ID, skipped without', async () => {
  await deployment(LOST, 'running');
  const refused = await runCli(['teardown', String(LOST)]);
  expect(refused.code).toBe(1);
  expect(refused.stderr).toContain(`run ${LOST} is still running: its fleets are at work`);
  expect(teardowns()).toEqual([]);
  const all = await runCli(['teardown']);
  expect(all.code).toBe(0);
  expect(all.stdout).toContain(`run ${LOST}: azure fleet left alone: its run is at work`);
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
    `the aws fleet of run ${KEPT} could not be torn down and may still be billing: run \`benchfleet teardown\` again`,
  );
  expect(existsSync(file(`fleet-${KEPT}.json`))).toBe(true);
});
