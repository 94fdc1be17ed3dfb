// `benchfleet local`: the whole system on this machine, no cloud account. Starts the local stack
// (dynalite, s3rver, the API, the reaper, in-process assembly) and the dashboard; with --serve it
// only serves them, otherwise it posts the config, runs one local runner per instance type, shows
// live progress, and unpacks the archive into results/<run-id>/ with the site built there.
import { createWriteStream, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { serveDashboard } from '../../dashboard/serve';
import type { LocalStack } from '../../lambdas/adapters/local/stack';
import type { Deps } from '../../lambdas/core/ports';
import type { RunView } from '../../lambdas/shared/contract';
import { createRunner, type RunnerResult } from '../../runner/agent';
import { dockerClient } from '../../runner/executors/docker';
import type { CpuTopology } from '../../runner/topology';
import { loadRunConfig, refuseStaleRunId } from '../config';
import { ApiClient, isNoRunYet } from '../lib/api';
import { type DataDirLock, lockDataDir } from '../lib/data-dir-lock';
import { action, CliError, describe } from '../lib/errors';
import { localShares, RunnerTurns, sharesLine, turnsTimeout } from '../lib/local-cpus';
import {
  checkLocalFlags,
  givenFlags,
  type LocalFlags,
  type LocalSettings,
  localOptions,
  refuseDockerOnlyFlags,
} from '../lib/local-flags';
import { localHostId, settleInFlight } from '../lib/local-in-flight';
import { routeHandlerLogs } from '../lib/local-logs';
import { checkResultsRoot, deliverEarlierRun, keepArchive, keepRunnerLogs } from '../lib/local-results';
import { nowSeconds, RunFolder } from '../lib/local-run-folder';
import { recordRun, resumeSettings } from '../lib/local-run-record';
import { LocalSignals } from '../lib/local-signals';
import { printJson } from '../lib/options';
import { LOCAL_POLL_MS, watchRun } from '../lib/progress';
import { saveResults } from '../lib/results';
import { forTerminal } from '../lib/terminal';

const say = (line = ''): void => {
  process.stderr.write(`${line}\n`);
};

/** The runners' task folders, in the data dir. */
const RUNNER_WORK = 'runner-work';

const count = (n: number, noun: string): string => `${n} ${noun}${n === 1 ? '' : 's'}`;

export function register(program: Command): void {
  localOptions(
    program
      .command('local')
      .description(
        'run everything on this machine: API, runners, assembly, results/<run-id>/ and the site (what npm start runs)',
      ),
  ).action(action('local', runLocal));
}

/**
 * Everything that can be refused is, in this order, before the data dir, the stack or a run; only
 * a resume's flags wait for the stack, to be held against the run they would resume (startOrResume).
 */
async function runLocal(flags: LocalFlags, cmd: Command): Promise<void> {
  const settings = checkLocalFlags(flags, process.env, givenFlags(cmd));
  // a run resumed from --data-dir without --workload may be a docker one: checked once known
  if (!flags.serve && (!flags.dataDir || settings.given.has('workload'))) refuseDockerOnlyFlags(settings);
  const config = flags.serve ? undefined : loadRunConfig(flags.config);
  if (config && (config.aws?.length || config.azure?.length)) {
    throw new CliError(
      `${flags.config} lists aws or azure instance types; \`benchfleet local\` runs provider local only (use \`benchfleet start\` for clouds)`,
    );
  }
  if (!flags.serve) checkResultsRoot(flags.resultsDir);
  if (settings.workload === 'docker') await requireDocker();
  routeHandlerLogs(flags); // before the stack loads the handlers' logger
  const signals = new LocalSignals({ say });
  const folder = config ? new RunFolder(flags.resultsDir, flags.config) : undefined;
  try {
    await serveOrRun(flags, config, settings, signals, folder);
  } catch (err) {
    if (!signals.quitting) throw err; // after a quit began, errors are the shutdown's echoes
  } finally {
    // a quit under way still needs the listeners: one more signal exits at once
    if (!signals.quitting) signals.dispose();
  }
  if (signals.quitting) await signals.parked(); // the quit ends the process
}

/**
 * Everything from the data dir on, inside one try/finally: whatever happens after the temp data dir
 * is made (a start error, a Ctrl-C during start-up, a failed run), it is removed (unless it holds
 * an archive that could not be unpacked), the data dir's lock released, and the run's results
 * folder, taken before the run and still empty, removed (local-run-folder.ts). A quit (second
 * Ctrl-C, SIGTERM) runs the same steps itself, bounded in time.
 */
async function serveOrRun(
  flags: LocalFlags,
  config: ReturnType<typeof loadRunConfig> | undefined,
  settings: LocalSettings,
  signals: LocalSignals,
  folder: RunFolder | undefined,
): Promise<void> {
  const dataDir = flags.dataDir ? resolve(flags.dataDir) : mkdtempSync(join(tmpdir(), 'benchfleet-local-'));
  const data: DataDir = { dir: dataDir, keep: Boolean(flags.dataDir) };
  let lock: DataDirLock | undefined;
  let cleaned = false;
  const cleanup = (): void => {
    if (cleaned) return;
    cleaned = true;
    folder?.atExit();
    lock?.release();
    if (!data.keep) rmSync(dataDir, { recursive: true, force: true });
  };
  let starting: Promise<LocalStack> | undefined;
  let stack: LocalStack | undefined;
  let dashboard: Awaited<ReturnType<typeof startDashboard>>;
  let stopped: Promise<void> | undefined;
  const shutdown = (): Promise<void> =>
    (stopped ??= (async () => {
      await dashboard?.stop().catch(() => undefined);
      const started = stack ?? (await starting?.catch(() => undefined));
      await started?.stop();
    })());
  signals.steps.shutdown = shutdown;
  signals.steps.cleanup = cleanup;
  try {
    // A new run takes its results folder before anything starts; with --data-dir, once the data
    // dir's latest run is known (startOrResume), as a run to resume there needs none.
    if (folder && !flags.dataDir) folder.take(config?.run_id, nowSeconds());
    lock = lockDataDir(dataDir);
    // The runners work in the data dir: what is left there is from a `local` that was killed before
    // it could clean up (its runners died with it; the lock says none is running now)
    rmSync(join(dataDir, RUNNER_WORK), { recursive: true, force: true });
    // Loaded here, not above: the handlers' logger reads its level when it is made (local-logs.ts).
    const { startLocalStack } =
      require('../../lambdas/adapters/local/stack') as typeof import('../../lambdas/adapters/local/stack');
    starting = startLocalStack({
      port: settings.port,
      dataDir,
      operatorKey: flags.apiKey ?? process.env.BENCHFLEET_API_KEY,
      runnerKey: flags.runnerKey ?? process.env.BENCHFLEET_RUNNER_KEY,
      heartbeatTimeoutS: settings.heartbeatTimeoutS,
      reaperIntervalS: settings.reaperIntervalS,
      waitRetrySeconds: 2,
    });
    stack = await starting.catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'EADDRINUSE') throw err;
      throw new CliError(
        `port ${settings.port} is in use (another \`benchfleet local --serve\`?): stop it, or pick another with --port`,
      );
    });
    if (signals.quitting) await signals.parked(); // a signal during start-up: the quit stops it
    dashboard = await startDashboard(stack, settings.dashboardPort);
    if (signals.quitting) await signals.parked();
    say('== Benchfleet local mode ==');
    say(`  API:          ${stack.apiUrl}`);
    say(`  dashboard:    ${dashboard?.url ?? '(not available: see the message above)'}`);
    say(`  operator key: ${shownKey(stack.operatorKey, flags.apiKey, 'BENCHFLEET_API_KEY', '--api-key')}`);
    say(
      `  runner key:   ${shownKey(stack.runnerKey, flags.runnerKey, 'BENCHFLEET_RUNNER_KEY', '--runner-key')}`,
    );
    say(`  data dir:     ${dataDir}`);
    if (flags.serve) {
      say('Serving until Ctrl-C.');
      await signals.nextInterrupt();
      return;
    }
    const run = { config: config as NonNullable<typeof config>, folder: folder as RunFolder };
    await oneRun(stack, flags, settings, run, data, signals);
    if (flags.keep) {
      say(`\nThe API and the dashboard stay up until Ctrl-C (${dashboard?.url ?? stack.apiUrl}).`);
      await signals.nextInterrupt();
    }
  } finally {
    if (!signals.quitting) {
      try {
        await shutdown();
      } finally {
        cleanup();
      }
    }
  }
}

/** The data dir, and whether it outlives this process (--data-dir, or it holds a kept archive). */
interface DataDir {
  dir: string;
  keep: boolean;
}

/** The config to run, and the results folder it takes (RunFolder). */
interface NewRun {
  config: ReturnType<typeof loadRunConfig>;
  folder: RunFolder;
}

async function oneRun(
  stack: LocalStack,
  flags: LocalFlags,
  settings: LocalSettings,
  next: NewRun,
  data: DataDir,
  signals: LocalSignals,
): Promise<void> {
  const dataDir = data.dir;
  const api = new ApiClient({ url: stack.apiUrl, key: async () => stack.operatorKey });
  const { runId, types, measured } = await startOrResume(api, flags, settings, next, dataDir, stack.deps);
  if (measured.workload === 'synthetic')
    say(
      '  (synthetic: built-in micro-benchmarks timed in Node, not ruby-bench; use --workload docker for the real suite)',
    );
  const logDir = join(dataDir, 'runner-logs');
  mkdirSync(logDir, { recursive: true });
  say(`  runner logs:  ${logDir}`);
  const shares = localShares(measured, types.length);
  if (shares && types.length) say(sharesLine(types, shares, measured.slots));
  const runners = new RunnerTurns(types, shares, (instanceType, topology) =>
    startLocalRunner(stack, measured, runId, instanceType, { logDir, dataDir }, topology),
  );
  let stoppedRunners: Promise<void> | undefined;
  const stopRunners = (): Promise<void> =>
    (stoppedRunners ??= (async () => {
      for (const r of await runners.stop()) r.log.end();
    })());
  signals.steps.stopRunners = stopRunners;
  let run: RunView;
  signals.onFirstInterrupt(() => {
    say(
      '\nInterrupted: ending the run early (POST /run/stop) and keeping what completed. Ctrl-C again to quit now (the runners are stopped first).',
    );
    api.stopRun(runId).catch(() => undefined);
  });
  try {
    run = await watchRun(api, { withKey: true, runId, pollMs: LOCAL_POLL_MS });
  } finally {
    signals.onFirstInterrupt(undefined);
    if (!signals.quitting) await stopRunners();
  }
  // watchRun's last block already ends with the run's summary line
  if (run.status === 'assembly_failed' || !run.gzip_url) {
    next.folder.release(); // this run delivers nothing, now or later
    const kept = flags.dataDir ? undefined : keepRunnerLogs(logDir, runId, flags.resultsDir);
    throw new CliError(
      `run ${runId} ended ${run.status} without an archive: ${forTerminal(run.assembly_error ?? 'no reason given')}${kept ? `; the runner logs are kept in ${kept}` : ''}`,
    );
  }
  const url = run.gzip_url;
  const report = await saveResults(runId, { url }, flags.resultsDir).catch(async (err: unknown) => {
    // A quit stopped the download (its half-written copy is gone): the quit owns the end.
    if (signals.quitting) throw err;
    // The results folder passed its check before the run; if unpacking fails anyway, the archive
    // must not go with the temp data dir.
    const where = await keepArchive(url, dataDir, runId);
    data.keep = true;
    const kept = flags.dataDir
      ? ''
      : `; the data dir ${dataDir} is not removed: delete it once you have the results`;
    throw new CliError(`run ${runId} is ${run.status}, but ${describe(err)}; ${where}${kept}`, {
      cause: err,
    });
  });
  next.folder.keep();
  say('\n== done ==');
  say(`  results:   ${report.results_dir}`);
  if (report.site) say(`  site:      ${report.site}`);
  say(
    `  tasks:     ${run.tasks.completed} completed, ${run.tasks.failed} failed, ${run.tasks.cancelled} cancelled of ${run.tasks.total}`,
  );
  const unfinished = [
    run.tasks.failed > 0 ? 'failed tasks and their reasons' : '',
    run.tasks.cancelled > 0 ? 'cancelled tasks' : '',
  ].filter(Boolean);
  if (unfinished.length) say(`  ${unfinished.join(' and ')} are listed in the site and in manifest.json`);
  if (flags.json) printJson({ run, results: report });
}

/**
 * Starts the config's run, or, when the data dir's current run is still `running` or `assembling`
 * (an earlier `benchfleet local` on it was killed), attaches to that run instead: /run/start would
 * refuse with run_in_progress; it goes on with the workload it was started with (local-run-record).
 * A current run that ended with an archive that never reached the results folder is delivered
 * first. Answers the run id, the instance types to start runners for, and the settings to run with.
 */
async function startOrResume(
  api: ApiClient,
  flags: LocalFlags,
  settings: LocalSettings,
  { config, folder }: NewRun,
  dataDir: string,
  deps: Deps,
): Promise<{ runId: number; types: string[]; measured: LocalSettings }> {
  const current = await api.getRun(true).catch((err: unknown) => {
    if (isNoRunYet(err)) return undefined; // its own API: no run in this data dir yet
    throw err;
  });
  if (current && (current.status === 'running' || current.status === 'assembling')) {
    const c = current.tasks;
    const types =
      current.status === 'running'
        ? current.instance_types.filter((t) => t.provider === 'local').map((t) => t.instance_type)
        : [];
    // a run being assembled has no task left to measure: no flag of this call changes it
    const resumed: { settings: LocalSettings; note?: string } = types.length
      ? resumeSettings(dataDir, current.run_id, settings)
      : { settings };
    if (types.length) refuseDockerOnlyFlags(resumed.settings, { runId: current.run_id, dataDir });
    say(
      `\n== resuming run ${current.run_id} from the data dir ${dataDir}: an earlier \`benchfleet local\` left it ${current.status} ==`,
    );
    say(
      `  ${c.completed + c.failed + c.cancelled}/${c.total} tasks finished; ${flags.config} is not used for this run, start it again once this one is done`,
    );
    if (c.claimed + c.running > 0)
      say(await settleInFlight(deps, c.claimed + c.running, settings.heartbeatTimeoutS));
    if (resumed.note) say(resumed.note);
    if (types.length)
      say(`  ${count(types.length, 'local instance type')}, ${resumed.settings.workload} workload`);
    if (resumed.settings.workload === 'docker' && settings.workload !== 'docker') await requireDocker();
    return { runId: current.run_id, types, measured: resumed.settings };
  }
  refuseDockerOnlyFlags(settings);
  refuseStaleRunId(config, flags.config, current?.run_id, `in the data dir ${dataDir}`);
  if (current) await deliverEarlierRun(current, dataDir, flags.resultsDir);
  // Without --data-dir the folder was taken before the stack started. A new id must also be greater
  // than the data dir's latest run's, or /run/start refuses it.
  const runId =
    folder.runId ?? folder.take(config.run_id, Math.max(nowSeconds(), (current?.run_id ?? 0) + 1));
  recordRun(dataDir, runId, settings); // before the run exists: a resume never finds it unrecorded
  const types = config.local ?? [];
  const turns = turnsTimeout(types.length, localShares(settings, types.length));
  const started = await api.startRun({ ...config, ...turns, run_id: runId });
  // the run lives on in the data dir after a quit: a restart delivers it into this folder
  if (flags.dataDir) folder.keep();
  say(
    `\n== run ${started.run_id}: ${count(started.tasks_created, 'task')} on ${count(types.length, 'local instance type')}, ${settings.workload} workload ==`,
  );
  if (folder.note) say(folder.note);
  return { runId: started.run_id, types, measured: settings };
}

/**
 * A key as the start-up block shows it: one this run made (or its data dir kept) in full, for the
 * dashboard and the CLI; one the user gave only by where it came from. A BENCHFLEET_API_KEY
 * exported for a deployment would otherwise be printed, into a terminal's scrollback or a CI log.
 */
function shownKey(key: string, flag: string | undefined, variable: string, option: string): string {
  if (flag !== undefined) return `(yours, from ${option}; not shown)`;
  if (process.env[variable] !== undefined) return `(yours, from ${variable}; not shown)`;
  return key;
}

function startLocalRunner(
  stack: LocalStack,
  settings: LocalSettings,
  runId: number,
  instanceType: string,
  { logDir, dataDir }: { logDir: string; dataDir: string },
  topology?: CpuTopology,
): { done: Promise<RunnerResult>; stop(): void; log: NodeJS.WritableStream & { end(): void } } {
  const log = createWriteStream(join(logDir, `${instanceType}.log`), { flags: 'a' });
  const handle = createRunner({
    apiUrl: stack.apiUrl,
    apiKey: stack.runnerKey,
    provider: 'local',
    instanceType,
    runId,
    slots: settings.slots,
    executor: settings.workload,
    syntheticSize: settings.syntheticSize,
    heartbeatS: Math.max(1, Math.min(30, settings.heartbeatTimeoutS / 4)),
    hostId: localHostId(instanceType, dataDir),
    workDir: join(dataDir, RUNNER_WORK, instanceType),
    ...(settings.image ? { image: settings.image } : {}),
    ...(dockerHost() ? { dockerHost: dockerHost() } : {}),
    ...(settings.rubyBenchDir ? { rubyBenchDir: settings.rubyBenchDir } : {}),
    ...(topology ? { topology } : {}),
    maxRetryS: 60,
    logWrite: (line) => log.write(line.endsWith('\n') ? line : `${line}\n`),
  });
  return { done: handle.done, stop: () => handle.stop(), log };
}

async function startDashboard(
  stack: LocalStack,
  port: number,
): Promise<{ url: string; stop(): Promise<void> } | undefined> {
  try {
    return await serveDashboard({ apiUrl: stack.apiUrl, port });
  } catch (err) {
    const why =
      (err as NodeJS.ErrnoException).code === 'EADDRINUSE'
        ? `port ${port} is in use: pick another with --dashboard-port, or 0 for any free one`
        : (err as Error).message;
    say(`  (the dashboard could not be served: ${why})`);
    return undefined;
  }
}

/** The engine's address: BENCHFLEET_DOCKER_HOST (also the runner's variable), else DOCKER_HOST. */
const dockerHost = (): string | undefined => process.env.BENCHFLEET_DOCKER_HOST ?? process.env.DOCKER_HOST;

async function requireDocker(): Promise<void> {
  // the runners' own client: a tcp:// address is the engine asked for, not the default socket
  const docker = dockerClient(dockerHost());
  try {
    await docker.ping();
  } catch (err) {
    throw new CliError(
      `--workload docker needs a Docker engine, and none answered (${(err as Error).message}); start dockerd, or set BENCHFLEET_DOCKER_HOST=unix:///path/to/docker.sock`,
    );
  }
}
