// `benchfleet assemble` after a run ended assembly_failed: the archive is built again from the
// results the runners uploaded, and `watch` names the command when the assembly fails. The real
// local API in this process, whose assembly fails on demand.

import { NO_RUN_YET } from '../../cli/lib/api';
import { type LocalStack, startLocalStack } from '../../lambdas/adapters/local/stack';
import { archiveSwitch } from '../helpers/archive-switch';
import { playerApi, runCli, startFiles } from './helpers';

const OPERATOR = 'cli-assemble-operator';
const RUNNER = 'cli-assemble-runner';
let stack: LocalStack;
let tarball: Buffer;
/** The run's assembly fails until the test lets it through. */
const archive = archiveSwitch();
archive.refused = true;

beforeAll(async () => {
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
  stack = await startLocalStack({
    operatorKey: OPERATOR,
    runnerKey: RUNNER,
    reaperIntervalS: 3600,
    assembly: archive.assembly,
  });
  ({ tarball } = startFiles('bf-assemble-'));
});
afterAll(() => stack.stop());

const api = playerApi(() => stack.apiUrl);
const target = () => ['--api-url', stack.apiUrl, '--api-key', OPERATOR];

it('builds the archive of an assembly_failed run again, which watch then follows to the end', async () => {
  // before any run: nothing to assemble, and how to start one
  const none = await runCli(['assemble', ...target()]);
  expect(none.code).toBe(1);
  expect(none.stderr).toContain(NO_RUN_YET);

  const started = await api('POST', '/run/start', OPERATOR, {
    ruby_version: '3.4.7',
    runs_per_instance_type: 1,
    local: ['cs'],
  });
  const claim = await api('POST', `/runs/${started.run_id}/tasks/claim`, RUNNER, {
    provider: 'local',
    instance_type: 'cs',
    runner_id: 'r-1',
  });
  await fetch(String(claim.presigned_urls?.result), { method: 'PUT', body: new Uint8Array(tarball) });
  await api('POST', `/tasks/${claim.task?.id}/complete`, RUNNER, { runner_id: 'r-1' });
  await stack.assemblyIdle();

  const failed = await runCli(['watch', ...target()]);
  expect(failed.code).toBe(1);
  expect(failed.stderr).toContain(
    `run ${started.run_id} ended assembly_failed: AssemblyError: the results bucket refused the upload`,
  );
  expect(failed.stderr).toContain(
    `\`benchfleet assemble --api-url ${stack.apiUrl}\` builds its archive again (the uploaded results are kept)`,
  );

  archive.refused = false;
  const again = await runCli(['assemble', ...target()]);
  expect(again.code).toBe(0);
  expect(again.stdout).toContain(`follow it with \`benchfleet watch --api-url ${stack.apiUrl}\``);
  await stack.assemblyIdle();
  const watched = await runCli(['watch', ...target()]);
  expect(watched.code).toBe(0);
  expect(await api('GET', '/run', OPERATOR)).toMatchObject({ run_id: started.run_id, status: 'complete' });

  // a complete run is not assembled again
  const twice = await runCli(['assemble', ...target(), '--json']);
  expect(twice.code).toBe(1);
  expect(twice.stderr).toContain(
    `nothing to assemble: run ${started.run_id} is already complete, with its archive. `,
  );
});
