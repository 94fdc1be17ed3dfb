// The fleets of a `benchfleet start` run (cli/lib/start-run.ts), from their launch to their
// teardown: launched in parallel before POST /run/start, torn down when the launch or the start
// fails, on a quit, and after the run unless --keep-fleet; and what a quit says may be left up.
import type { RunConfig, StartRunResponse } from '../../lambdas/shared/contract';
import { type ApiClient, ApiError } from './api';
import { CliError, describe } from './errors';
import { inParallel, type Launch } from './fleets';
import type { StartFlags } from './start-run';
import type { QuitPlan, StartSignals } from './start-signals';
import { FLEET_STACK } from './state';

const log = (line = ''): boolean => process.stderr.write(`${line}\n`);

/** The fleets of a run that may be up: each from its launch until its teardown went through. */
export interface Fleets {
  runId: number;
  flags: StartFlags;
  standing: Set<Launch>;
}

/** Launches the fleets and POSTs /run/start; a failure or a quit tears down what was launched. */
export async function launchAndStart(
  quit: StartSignals,
  fleets: Fleets,
  api: ApiClient,
  config: RunConfig & { run_id: number },
  dashboard: string,
): Promise<void> {
  const runId = config.run_id;
  let starting: Promise<StartRunResponse> | undefined;
  quit.guard({
    now: () =>
      starting
        ? `run ${runId} was being started: waiting for the API's answer, then tearing down its fleets`
        : `run ${runId} was not started: waiting for the launch commands to end, then tearing down what they launched`,
    cleanUp: async () => {
      if (
        await starting?.then(
          () => true,
          () => false,
        )
      ) {
        log(`Run ${runId} started meanwhile: stopping it`);
        await api.stopRun(runId).then(
          () => log(`  run ${runId} stopped`),
          (err: unknown) =>
            log(`  could not stop it (${describe(err)}): \`benchfleet stop ${runId}\` ends it`),
        );
      }
      await teardown(fleets, true);
      log(leftUp(fleets));
    },
    leftUp: () =>
      `${starting ? `Run ${runId} may have started: \`benchfleet stop ${runId}\` ends it. ` : ''}${leftUp(fleets)}`,
  });
  const failed = await quit.step(() => inParallel([...fleets.standing], 'up'));
  if (failed.length > 0) {
    for (const f of failed) log(`${f.provider} fleet failed: ${describe(f.error)}`);
    // Even with --keep-fleet: VMs of a run that never starts would only wait and cost money.
    await teardown(fleets, true, quit);
    throw new CliError(
      `the ${failed.map((f) => f.provider).join(' and ')} fleet could not be launched; the run was not started`,
    );
  }
  try {
    const started = await quit.step(() => {
      starting = api.startRun(config);
      return starting;
    });
    log(`\n== run ${started.run_id}: ${started.tasks_created} task(s) created; dashboard: ${dashboard} ==`);
  } catch (err) {
    await teardown(fleets, true, quit);
    if (err instanceof ApiError && err.code === 'run_in_progress') {
      // another run started since the preflight looked, the start raced one, or a stop came first
      const other = /^run (\d+) is (\w+)/.exec(err.said);
      throw new CliError(
        other
          ? `run ${runId} was not started, and its fleets are torn down: run ${other[1]} started on this deployment meanwhile and is ${other[2]}; wait for it (\`benchfleet watch\`) or end it (\`benchfleet stop\`), then start again`
          : `the API did not start run ${runId} (${err.said || err.message}); its fleets are torn down`,
      );
    }
    throw err;
  }
}

/** How far the results got: unpacked into `dir` (complete), and the site built there. */
export interface SavedSoFar {
  dir: string | undefined;
  site: boolean;
}

/** After the watch: the archive stays in S3 whatever happens; the fleets go unless --keep-fleet. */
export function afterRunPlan(fleets: Fleets, saved: () => SavedSoFar, archived: boolean): QuitPlan {
  const { runId, flags } = fleets;
  const where = (): string => {
    const { dir, site } = saved();
    if (dir && site) return `the results of run ${runId} are in ${dir}`;
    // a quit while the site is being built: the files are all there, the page may not be
    if (dir)
      return `the results of run ${runId} are in ${dir}; if its site is unfinished, \`benchfleet site ${dir}\` builds it`;
    return archived
      ? `the results of run ${runId} stay in S3: \`benchfleet download ${runId}\` fetches them`
      : `run ${runId} has ended`;
  };
  return {
    now: () =>
      `${where()}; ${flags.keepFleet ? `its fleets stay up (--keep-fleet): \`benchfleet teardown ${runId}\` removes them` : 'tearing down its fleets before quitting'}`,
    ...(!flags.keepFleet && {
      cleanUp: async () => {
        await teardown(fleets);
        log(leftUp(fleets));
      },
    }),
    leftUp: () => `${where()}. ${leftUp(fleets)}`,
  };
}

/** What may still be up, and how to remove it. */
function leftUp({ runId, standing }: Fleets): string {
  const names = [...standing].map((l) =>
    l.provider === 'aws'
      ? `the AWS fleet (stack ${FLEET_STACK})`
      : `the Azure fleet (terraform workspace run-${runId})`,
  );
  if (names.length === 0) return `The fleets of run ${runId} are torn down.`;
  return `May be left up: ${names.join(' and ')}; \`benchfleet teardown ${runId}\` removes ${names.length > 1 ? 'them' : 'it'} once the run has ended.`;
}

/**
 * Tears down the fleets still standing; true when none is left. The main flow passes `quit`, so
 * that a quit parks it (the quit's clean-up runs the teardown again for what is left).
 */
export async function teardown(fleets: Fleets, always = false, quit?: StartSignals): Promise<boolean> {
  const launches = [...fleets.standing];
  if (launches.length === 0) return true;
  if (fleets.flags.keepFleet && !always) return false;
  log(
    `\nTearing down the fleets of run ${fleets.runId}${quit && !always ? ' (pass --keep-fleet to keep them)' : ''}`,
  );
  const down = async (): Promise<Awaited<ReturnType<typeof inParallel>>> => {
    const failed = await inParallel(launches, 'down');
    for (const l of launches) if (!failed.some((f) => f.provider === l.provider)) fleets.standing.delete(l);
    return failed;
  };
  const failed = await (quit ? quit.step(down) : down());
  for (const f of failed) {
    log(
      `${f.provider} fleet teardown failed: ${describe(f.error)}; \`benchfleet teardown ${fleets.runId}\` tries again, \`benchfleet nuke\` removes everything`,
    );
  }
  return failed.length === 0;
}
