// A task's log file that cannot be written (a full disk: stdout.log and stderr.log point at
// /dev/full, which refuses every write with ENOSPC) must not take the runner down: the problem is
// logged with the task, the task goes on, and a Docker container is still removed afterwards.
import { existsSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { CommandExecutor } from '../../runner/executors/command';
import { DockerExecutor } from '../../runner/executors/docker';
import { SyntheticExecutor } from '../../runner/executors/synthetic';
import type { ExecContext } from '../../runner/executors/types';
import { FakeDocker } from './fake-docker';
import { execContext } from './helpers';

const full = existsSync('/dev/full') ? it : it.skip;

function fullDiskContext(): { ctx: ExecContext; lines: string[] } {
  const { ctx, lines } = execContext('bf-log-errors-');
  symlinkSync('/dev/full', join(ctx.logsDir, 'stdout.log'));
  symlinkSync('/dev/full', join(ctx.logsDir, 'stderr.log'));
  return { ctx, lines };
}

const problem = /warn: cannot write .*stdout\.log: .*ENOSPC.*the task goes on .*\(task=7\)/;

full('command executor: the command runs to its end and the problem is logged', async () => {
  const { ctx, lines } = fullDiskContext();
  const res = await new CommandExecutor('echo hello; echo oops >&2; sleep 0.2; echo more').run(ctx);
  expect(res.exitCode).toBe(0);
  expect(lines.join('\n')).toMatch(problem);
  expect(lines.join('\n')).toMatch(/cannot write .*stderr\.log: ENOSPC/);
});

full('synthetic executor: the results are still written', async () => {
  const { ctx, lines } = fullDiskContext();
  const res = await new SyntheticExecutor({ size: 0 }).run(ctx);
  expect(res.exitCode).toBe(0);
  expect(existsSync(join(ctx.outDir, 'output_001.txt'))).toBe(true);
  expect(lines.join('\n')).toMatch(problem);
});

describe('docker executor', () => {
  let engine: FakeDocker;
  beforeEach(async () => {
    engine = await new FakeDocker().start();
  });
  afterEach(() => engine.stop());

  full('the container runs to its end and is removed', async () => {
    const { ctx, lines } = fullDiskContext();
    const res = await new DockerExecutor({ dockerHost: engine.host }).run(ctx);
    expect(res.exitCode).toBe(0);
    expect(lines.join('\n')).toMatch(problem);
    expect(engine.calls.filter((c) => c.startsWith('DELETE /containers/'))).toHaveLength(1);
    expect(engine.containers.size).toBe(0);
  });

  full(
    "a container that cannot fetch ruby-bench: the fail message names the host's full disk too",
    async () => {
      engine.exitStatus = 97; // the script's FETCH_FAILED
      const { ctx } = fullDiskContext();
      const err = await new DockerExecutor({ dockerHost: engine.host }).run(ctx).then(
        () => undefined,
        (e: unknown) => e as Error & { errorType?: string },
      );
      expect(err?.errorType).toBe('provision_failed');
      expect(err?.message).toMatch(
        /^cannot fetch ruby-bench .* in the container \(git clone or checkout failed.*\); this host also could not write the task's logs \(cannot write .*stdout\.log: .*ENOSPC.*\): free disk space on it$/,
      );
    },
  );
});
