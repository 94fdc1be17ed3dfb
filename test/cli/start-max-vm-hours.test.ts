// `benchfleet start --max-vm-hours`: refused before anything when it is no number of hours from 1 to
// 168, said once in the preflight, and handed to both fleets (the AWS fleet plan file, the Azure
// tfvars); without it, the run's default. The launch is cut short by a failing terraform apply: by
// then both fleets have been handed their files, and the run never starts.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BUILD_VERSION } from '../../lambdas/shared/build-info';
import { defaultMaxVmHours } from '../../lambdas/shared/vm-life';
import { tempDir } from '../helpers/temp-dir';
import { VersionProxy } from '../helpers/version-proxy';
import { argv, type CliResult, type FakeCall, fakeOutputs, runCli } from './helpers';
import { startSetup } from './start-setup';

const setup = startSetup();
const { runStart } = setup;

beforeEach(() => {
  process.env.FAKE_RENDEZVOUS = '';
  process.env.FAKE_FAIL = 'terraform -chdir=terraform-azure apply';
});

/** The maximum life each fleet was handed: the fleet plan file's and the tfvars'. */
function handed(): { aws: unknown; azure: unknown; deadline: unknown; calls: FakeCall[] } {
  const calls = setup.box.calls();
  const deploy = calls.find((c) => argv(c).startsWith('cdk deploy BenchfleetFleet'));
  const apply = calls.find((c) => c.tool === 'terraform' && c.args[1] === 'apply');
  const { maxVmHours: aws, deadline } = deploy?.fleetPlan ?? {};
  return { aws, azure: apply?.tfvars?.max_vm_hours, deadline, calls };
}

const safetyNet = (r: CliResult): string[] =>
  r.stderr.split('\n').filter((l) => l.includes('whatever happens'));

it.each([['abc'], ['0'], ['0.5'], ['-2'], ['169'], ['1e2'], [''], ['5h']])(
  'refuses --max-vm-hours %j before anything is looked at or launched',
  async (value) => {
    const r = await runStart('--max-vm-hours', value);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      `--max-vm-hours must be a number of hours from 1 to 168 (a week), got ${JSON.stringify(value)}`,
    );
    expect(r.stderr).not.toContain('preflight');
    expect(setup.box.calls()).toEqual([]);
  },
);

it("hands both fleets the run's default, and says it once", async () => {
  const r = await runStart();
  expect(r.code).toBe(1); // the failed apply
  // 2 runs of one type per cloud, one attempt each: boot, the start wait, a task of up to 2 h, margin
  expect(defaultMaxVmHours({}, [{ tasks: 2, vm_count: 1, slots_per_vm: 2 }])).toBe(5);
  const { aws, azure } = handed();
  expect([aws, azure]).toEqual([5, 5]);
  expect(r.stderr).not.toContain('is under this run'); // warned of only below the default
  expect(safetyNet(r)).toEqual([
    expect.stringMatching(
      /^Each VM powers off after at most 5 h whatever happens \(this run's default; --max-vm-hours changes it\); were every VM up that long: \$\d+\.\d\d$/,
    ),
  ]);
});

it('hands both fleets the hours given, and warns when they are under the default', async () => {
  const before = Date.now();
  const r = await runStart('--max-vm-hours', '2.5');
  const { aws, azure, deadline } = handed();
  expect([aws, azure]).toEqual([2.5, 2.5]);
  // the AWS fleet's outside bound: an hour past the VMs' own, from the launch, in whole UTC seconds
  expect(deadline).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  const past = Date.parse(deadline as string) - (2.5 + 1) * 3600_000;
  expect(past).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000);
  expect(past).toBeLessThanOrEqual(Date.now() + 1000);
  expect(safetyNet(r)).toEqual([
    expect.stringMatching(/^Each VM powers off after at most 2\.5 h whatever happens \(--max-vm-hours\)/),
  ]);
  expect(r.stderr).toContain(
    "warning: --max-vm-hours 2.5 is under this run's default of 5 h: a VM still at work by then is powered off, and its tasks fail",
  );
});

it("sets the AWS fleet's deadline by the deployment's clock, and says when this machine's is off", async () => {
  // the deployment's API answers 3 h ahead of this machine: as a laptop clock 3 h slow would see it
  const proxy = await new VersionProxy(setup.stack.apiUrl).start();
  proxy.version = BUILD_VERSION;
  proxy.clockAheadMs = 3 * 3600_000;
  process.env.FAKE_CDK_OUTPUTS = JSON.stringify(fakeOutputs(proxy.url));
  try {
    const before = Date.now();
    const r = await runStart('--max-vm-hours', '2.5');
    expect(r.stderr).toContain(
      "note: this machine's clock is 180 min behind the deployment's; the VMs' deadline follows the deployment's clock",
    );
    const { deadline } = handed();
    const past = Date.parse(deadline as string) - (3 + 2.5 + 1) * 3600_000;
    expect(past).toBeGreaterThanOrEqual(before - 2000);
    expect(past).toBeLessThanOrEqual(Date.now() + 2000);
  } finally {
    await proxy.stop();
  }
});

describe('with --config results/<id> and --keep-fleet', () => {
  /** A results folder as `download` leaves it, of a run that allowed 3 attempts per task. */
  function resultsFolder(): string {
    const dir = join(tempDir('bf-max-life-'), 'results', '1700000000');
    mkdirSync(dir, { recursive: true });
    const config = {
      ruby_version: '3.4.7',
      runs_per_instance_type: 2,
      aws: ['c7g.medium'],
      azure: ['Standard_D2pls_v6'],
      max_attempts: 3,
      run_id: 1_700_000_000,
    };
    writeFileSync(join(dir, 'manifest.json'), JSON.stringify({ run_id: 1_700_000_000, config, tasks: [] }));
    return dir;
  }
  const start = (...extra: string[]): Promise<CliResult> =>
    runCli([
      'start',
      '--config',
      resultsFolder(),
      '--yes',
      '--keep-fleet',
      '--ssh-public-key',
      setup.keyFile,
      ...extra,
    ]);

  it("derives the default from the repeated run's max_attempts", async () => {
    const r = await start();
    expect(r.stderr).toContain('repeating run 1700000000');
    // three attempts of up to 2 h 15 min in a row
    expect([handed().aws, handed().azure]).toEqual([10, 10]);
    expect(safetyNet(r)[0]).toContain('at most 10 h whatever happens');
  });

  it('takes --max-vm-hours beside them, and still tears down a fleet whose run never started', async () => {
    const r = await start('--max-vm-hours', '12');
    const { aws, azure, calls } = handed();
    expect([aws, azure]).toEqual([12, 12]);
    expect(r.stderr).toContain('the azure fleet could not be launched; the run was not started');
    expect(calls.map(argv)).toContainEqual(expect.stringMatching(/^cdk destroy BenchfleetFleet /));
  });
});
