// runCli runs a command in the jest worker itself, where process.exitCode and stderr are shared:
// a command still finishing from an earlier test of the same worker must not make another test's
// command "exit 1" or fill its output (deploy did, now and then, under load).
import fs from 'node:fs';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { mockClient } from 'aws-sdk-client-mock';
import { fakeOutputs, runCli, type Sandbox, sandbox, stackGone } from './helpers';

// deploy first asks whether a run is at work on the deployment: none is deployed here
const metaStack = mockClient(CloudFormationClient);
beforeEach(() => {
  metaStack.reset();
  metaStack.on(DescribeStacksCommand).rejects(stackGone('Benchfleet'));
});

let box: Sandbox;
beforeEach(() => {
  // the fake cdk takes 300 ms, so the stray below lands while deploy runs
  box = sandbox({
    FAKE_CDK_OUTPUTS: JSON.stringify(fakeOutputs('https://api.example.invalid')),
    FAKE_SLEEP_MS: '300',
  });
});
afterEach(() => box.restore());

it("answers its own command's exit code and output, not a stray command's, and names the stray", async () => {
  // the stray's report goes to fd 2: caught here, so a CI log shows it only for a real leak
  const reports: string[] = [];
  const toFd = jest.spyOn(fs, 'writeSync').mockImplementation((fd, text) => {
    reports.push(`${fd} ${String(text)}`);
    return 0;
  });
  // and the stray's own words pass through to the process's stderr, caught here too
  const passed: string[] = [];
  const stderr = jest.spyOn(process.stderr, 'write').mockImplementation((text) => {
    passed.push(String(text));
    return true;
  });
  let strayWrote = false;
  const stray = setTimeout(() => {
    process.exitCode = 1; // as action() does when a command fails
    strayWrote = process.stderr.write('benchfleet stray: it failed\n');
  }, 100);
  const r = await runCli(['deploy', '--json']).finally(() => {
    toFd.mockRestore();
    stderr.mockRestore();
  });
  clearTimeout(stray);
  expect(reports).toEqual([
    expect.stringMatching(/^2 \nprocess.exitCode = 1 set outside any test command:\n.*run-cli-scope/s),
  ]);
  expect(strayWrote).toBe(true); // it did land during deploy
  expect(r.code === 0 ? 0 : r).toBe(0);
  expect(r.stderr).not.toContain('stray');
  expect(passed).toContain('benchfleet stray: it failed\n');
  expect(JSON.parse(r.stdout)).toMatchObject({ ApiUrl: 'https://api.example.invalid' });
});

it('still answers the exit code its own command sets', async () => {
  process.env.FAKE_FAIL = 'cdk deploy';
  const r = await runCli(['deploy']);
  expect(r.code).toBe(1);
  expect(r.stderr).toContain('benchfleet deploy: `');
});
