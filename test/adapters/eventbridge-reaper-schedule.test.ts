// The reaper schedule: enabled by a run's start, disabled when the run ends (cost: nothing runs idle).
import { DisableRuleCommand, EnableRuleCommand, EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { EventBridgeReaperSchedule } from '../../lambdas/adapters/eventbridge-reaper-schedule';
import { completeAssembly } from '../../lambdas/core/run-assembly';
import { startRun, stopRun } from '../../lambdas/core/runs';
import { type CoreHarness, startCore } from '../unit/core/core-helpers';

const events = mockClient(EventBridgeClient);
let h: CoreHarness;
beforeEach(async () => {
  events.reset();
  events.on(EnableRuleCommand).resolves({});
  events.on(DisableRuleCommand).resolves({});
  h = await startCore();
});
afterEach(() => h.stack.stop());

it('enables the rule when a run starts and disables it when the run ends', async () => {
  const deps = {
    ...h.deps,
    schedule: new EventBridgeReaperSchedule(
      new EventBridgeClient({ region: 'us-east-1' }),
      'benchfleet-reaper',
    ),
  };
  const { run_id } = await startRun(deps, { ruby_version: '3.4.7', runs_per_instance_type: 1, local: ['a'] });
  expect(events).toHaveReceivedCommandWith(EnableRuleCommand, { Name: 'benchfleet-reaper' });
  expect(events).not.toHaveReceivedCommand(DisableRuleCommand);
  await deps.store.setRunStatus(run_id, ['running'], 'assembling');
  await completeAssembly(deps, run_id, `runs/${run_id}/results.tar.gz`);
  expect(events).toHaveReceivedCommandWith(DisableRuleCommand, { Name: 'benchfleet-reaper' });
});

it('a warm container re-enables the rule another Lambda disabled: each run gets its reaper', async () => {
  // two warm containers, each with its own adapter, switching the one rule
  let enabled = false;
  events.on(EnableRuleCommand).callsFake(() => {
    enabled = true;
    return {};
  });
  events.on(DisableRuleCommand).callsFake(() => {
    enabled = false;
    return {};
  });
  const adapter = () =>
    new EventBridgeReaperSchedule(new EventBridgeClient({ region: 'us-east-1' }), 'benchfleet-reaper');
  const startLambda = { ...h.deps, schedule: adapter() };
  const endLambda = { ...h.deps, schedule: adapter() };
  const cfg = { ruby_version: '3.4.7', runs_per_instance_type: 1, local: ['a'] };
  for (const round of [1, 2]) {
    const { run_id } = await startRun(startLambda, cfg);
    expect({ round, enabled }).toEqual({ round, enabled: true });
    await stopRun(endLambda);
    await completeAssembly(endLambda, run_id, `runs/${run_id}/results.tar.gz`);
    expect({ round, enabled }).toEqual({ round, enabled: false });
  }
});
