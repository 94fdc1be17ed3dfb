// `benchfleet local`: the whole system on this machine, no cloud account. Starts the local stack
// (dynalite, s3rver, the API, the reaper, in-process assembly) and the dashboard; with --serve it
// only serves them, otherwise it posts the config, runs one local runner per instance type, shows
// live progress, and unpacks the archive into results/<run-id>/ with the site built there.
import { cpSync, createWriteStream, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import type { Command } from 'commander';
import { serveDashboard } from '../../dashboard/serve';
import { type LocalStack, startLocalStack } from '../../lambdas/adapters/local/stack';
import type { RunView } from '../../lambdas/shared/contract';
import { createRunner, type RunnerHandle } from '../../runner/agent';
import { loadRunConfig } from '../config';
import { ApiClient, ApiError } from '../lib/api';
import { resultsDirFor } from '../lib/archive';
import { type DataDirLock, lockDataDir } from '../lib/data-dir-lock';
import { action, CliError } from '../lib/errors';
import { LocalSignals } from '../lib/local-signals';
import { printJson } from '../lib/options';
import { summaryLine, watchRun } from '../lib/progress';
import { saveResults } from '../lib/results';

interface LocalFlags {
  config: string;
  workload: 'synthetic' | 'docker';
  keep?: boolean;
  serve?: boolean;
  port?: string;
  dashboardPort: string;
  dataDir?: string;
  apiKey?: string;
  runnerKey?: string;
  heartbeatTimeoutS: string;
  reaperIntervalS: string;
  resultsDir?: string;
  slots: string;
  syntheticSize: string;
  image?: string;
  rubyBenchDir?: string;
  json?: boolean;
}

const say = (line = ''): void => {
  process.stderr.write(`${line}\n`);
};

const positive = (value: string, flag: string): number => {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0)
    throw new CliError(`${flag} must be a number of zero or more, got "${value}"`);
  return n;
};

/** Intervals and timeouts: 0 would make the reaper spin or fail every task at once. */
const aboveZero = (value: string, flag: string): number => {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0)
    throw new CliError(`${flag} must be a number of seconds above zero, got "${value}"`);
  return n;
};

export function register(program: Command): void {
  program
    .command('local')
    .description(
      'run everything on this machine: API, runners, assembly, results/<run-id>/ and the site (what npm start runs)',
    )
    .option('-c, --config <file>', 'run config (JSON with comments)', 'runs/local.json')
    .option(
      '--workload <kind>',
      'synthetic (built-in micro-benchmarks, offline) or docker (ruby-bench in containers)',
      'synthetic',
    )
    .option('--keep', 'leave the API and the dashboard up after the run (Ctrl-C stops them)')
    .option('--serve', 'only serve the API and the dashboard; start runs with `benchfleet start` or curl')
    .option('--port <n>', 'API port (default 8787 with --serve, any free port otherwise; 0 = any)')
    .option('--dashboard-port <n>', 'dashboard port (0 = any free port)', '0')
    .option(
      '--data-dir <dir>',
      'keep the local DynamoDB, S3 and keys here; a restart resumes what was in flight',
    )
    .option('--api-key <key>', 'operator key (env BENCHFLEET_API_KEY; generated when absent)')
    .option('--runner-key <key>', 'runner key (env BENCHFLEET_RUNNER_KEY; generated when absent)')
    .option('--heartbeat-timeout-s <s>', 'fail tasks silent for this long', '120')
    .option('--reaper-interval-s <s>', 'how often the reaper runs', '60')
    .option(
      '--results-dir <dir>',
      'where results/<run-id>/ goes (default: results, or BENCHFLEET_RESULTS_DIR)',
    )
    .option('--slots <n>', 'slots per local runner: a number, auto (one per vCPU) or cores', 'auto')
    .option(
      '--synthetic-size <n>',
      'work per synthetic benchmark (0 = instant, 1 = a few seconds a task)',
      '1',
    )
    .option('--image <name>', 'container image for --workload docker (default ruby:<ruby_version>)')
    .option(
      '--ruby-bench-dir <dir>',
      'a local ruby-bench checkout mounted into the containers (offline docker runs)',
    )
    .option('--json', 'print the final report as JSON on stdout')
    .action(action('local', runLocal));
}

async function runLocal(flags: LocalFlags): Promise<void> {
  if (flags.workload !== 'synthetic' && flags.workload !== 'docker') {
    throw new CliError(`--workload must be synthetic or docker, got "${flags.workload}"`);
  }
  const config = flags.serve ? undefined : loadRunConfig(flags.config);
  if (config && (config.aws?.length || config.azure?.length)) {
    throw new CliError(
      `${flags.config} lists aws or azure instance types; \`benchfleet local\` runs provider local only (use \`benchfleet start\` for clouds)`,
    );
  }
  const settings: Settings = {
    port: positive(flags.port ?? (flags.serve ? '8787' : '0'), '--port'),
    dashboardPort: positive(flags.dashboardPort, '--dashboard-port'),
    heartbeatTimeoutS: aboveZero(flags.heartbeatTimeoutS, '--heartbeat-timeout-s'),
    reaperIntervalS: aboveZero(flags.reaperIntervalS, '--reaper-interval-s'),
  };
  if (flags.workload === 'docker') await requireDocker();
  const signals = new LocalSignals({ say });
  try {
    await serveOrRun(flags, config, settings, signals);
  } catch (err) {
    if (!signals.quitting) throw err; // after a quit began, errors are the shutdown's echoes
  } finally {
    // a quit under way still needs the listeners: one more signal exits at once
    if (!signals.quitting) signals.dispose();
  }
  if (signals.quitting) await signals.parked(); // the quit ends the process
}

interface Settings {
  port: number;
  dashboardPort: number;
  heartbeatTimeoutS: number;
  reaperIntervalS: number;
}

/**
 * Everything from the data dir on, inside one try/finally: whatever happens after the temp data dir
 * is made (a start error, a Ctrl-C during start-up, a failed run), it is removed and the data dir's
 * lock released. A quit (second Ctrl-C, SIGTERM) runs the same steps itself, bounded in time.
 */
async function serveOrRun(
  flags: LocalFlags,
  config: ReturnType<typeof loadRunConfig> | undefined,
  settings: Settings,
  signals: LocalSignals,
): Promise<void> {
  const dataDir = flags.dataDir ? resolve(flags.dataDir) : mkdtempSync(join(tmpdir(), 'benchfleet-local-'));
  let lock: DataDirLock | undefined;
  let cleaned = false;
  const cleanup = (): void => {
    if (cleaned) return;
    cleaned = true;
    lock?.release();
    if (!flags.dataDir) rmSync(dataDir, { recursive: true, force: true });
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
    lock = lockDataDir(dataDir);
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
    say(`  operator key: ${stack.operatorKey}`);
    say(`  runner key:   ${stack.runnerKey}`);
    say(`  data dir:     ${dataDir}`);
    if (flags.serve) {
      say('Serving until Ctrl-C.');
      await signals.nextInterrupt();
      return;
    }
    await oneRun(stack, flags, config as NonNullable<typeof config>, dataDir, signals);
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

async function oneRun(
  stack: LocalStack,
  flags: LocalFlags,
  config: ReturnType<typeof loadRunConfig>,
  dataDir: string,
  signals: LocalSignals,
): Promise<void> {
  const api = new ApiClient({ url: stack.apiUrl, key: async () => stack.operatorKey });
  const { runId, types } = await startOrResume(api, flags, config, dataDir);
  if (flags.workload === 'synthetic')
    say(
      '  (synthetic: built-in micro-benchmarks timed in Node, not ruby-bench; use --workload docker for the real suite)',
    );
  const logDir = join(dataDir, 'runner-logs');
  mkdirSync(logDir, { recursive: true });
  say(`  runner logs:  ${logDir}`);
  const runners = types.map((instanceType) => startLocalRunner(stack, flags, runId, instanceType, logDir));
  let stoppedRunners: Promise<void> | undefined;
  const stopRunners = (): Promise<void> =>
    (stoppedRunners ??= (async () => {
      for (const r of runners) r.handle.stop();
      await Promise.all(runners.map((r) => r.handle.done.catch(() => undefined)));
      for (const r of runners) r.log.end();
    })());
  signals.steps.stopRunners = stopRunners;
  let run: RunView;
  signals.onFirstInterrupt(() => {
    say(
      '\nInterrupted: ending the run early (POST /run/stop) and keeping what completed. Ctrl-C again to quit now (the runners are stopped first).',
    );
    api.stopRun().catch(() => undefined);
  });
  try {
    run = await watchRun(api, { withKey: true, runId });
  } finally {
    signals.onFirstInterrupt(undefined);
    if (!signals.quitting) await stopRunners();
  }
  say(summaryLine(run));
  if (run.status === 'assembly_failed' || !run.gzip_url) {
    const kept = flags.dataDir ? undefined : keepRunnerLogs(logDir, runId, flags.resultsDir);
    throw new CliError(
      `run ${runId} ended ${run.status} without an archive: ${run.assembly_error ?? 'no reason given'}${kept ? `; the runner logs are kept in ${kept}` : ''}`,
    );
  }
  const report = await saveResults(runId, { url: run.gzip_url }, flags.resultsDir);
  say('\n== done ==');
  say(`  results:   ${report.results_dir}`);
  if (report.site) say(`  site:      ${report.site}`);
  const failed = run.tasks.failed + run.tasks.cancelled;
  say(
    `  tasks:     ${run.tasks.completed} completed, ${run.tasks.failed} failed, ${run.tasks.cancelled} cancelled of ${run.tasks.total}`,
  );
  if (failed > 0) say('  failed tasks and their reasons are listed in the site and in manifest.json');
  if (flags.json) printJson({ run, results: report });
}

/**
 * Starts the config's run, or, when the data dir's current run is still `running` or `assembling`
 * (an earlier `benchfleet local` on it was killed), attaches to that run instead: /run/start would
 * refuse with run_in_progress. Answers the run id and the instance types to start runners for.
 */
async function startOrResume(
  api: ApiClient,
  flags: LocalFlags,
  config: ReturnType<typeof loadRunConfig>,
  dataDir: string,
): Promise<{ runId: number; types: string[] }> {
  const current = await api.getRun(true).catch((err: unknown) => {
    if (err instanceof ApiError && err.status === 404) return undefined;
    throw err;
  });
  if (current && (current.status === 'running' || current.status === 'assembling')) {
    const c = current.tasks;
    const types =
      current.status === 'running'
        ? current.instance_types.filter((t) => t.provider === 'local').map((t) => t.instance_type)
        : [];
    say(
      `\n== resuming run ${current.run_id} from the data dir ${dataDir}: an earlier \`benchfleet local\` left it ${current.status} ==`,
    );
    say(
      `  ${c.completed + c.failed + c.cancelled}/${c.total} tasks finished; ${flags.config} is not used for this run, start it again once this one is done`,
    );
    if (c.claimed + c.running > 0)
      say(
        `  ${c.claimed + c.running} task(s) were in flight when it stopped: they fail as heartbeat_timeout after --heartbeat-timeout-s (${flags.heartbeatTimeoutS} s) and are retried while attempts remain`,
      );
    if (types.length) say(`  ${types.length} local instance type(s), ${flags.workload} workload`);
    return { runId: current.run_id, types };
  }
  const started = await api.startRun({ ...config, run_id: config.run_id ?? Math.floor(Date.now() / 1000) });
  const types = config.local ?? [];
  say(
    `\n== run ${started.run_id}: ${started.tasks_created} tasks on ${types.length} local instance type(s), ${flags.workload} workload ==`,
  );
  return { runId: started.run_id, types };
}

/**
 * Without --data-dir the runner logs live in the temp data dir, removed at exit; a run without an
 * archive has nothing else to show for itself, so its logs move next to results/<run-id>/.
 */
function keepRunnerLogs(logDir: string, runId: number, resultsRoot?: string): string | undefined {
  const target = `${resultsDirFor(runId, resultsRoot)}-runner-logs`;
  try {
    rmSync(target, { recursive: true, force: true });
    mkdirSync(dirname(target), { recursive: true });
    cpSync(logDir, target, { recursive: true });
    return target;
  } catch (err) {
    say(`  (the runner logs could not be kept in ${target}: ${(err as Error).message})`);
    return undefined;
  }
}

function startLocalRunner(
  stack: LocalStack,
  flags: LocalFlags,
  runId: number,
  instanceType: string,
  logDir: string,
): { handle: RunnerHandle; log: NodeJS.WritableStream & { end(): void } } {
  const log = createWriteStream(join(logDir, `${instanceType}.log`), { flags: 'a' });
  const slots =
    flags.slots === 'auto' || flags.slots === 'cores' ? flags.slots : positive(flags.slots, '--slots');
  const handle = createRunner({
    apiUrl: stack.apiUrl,
    apiKey: stack.runnerKey,
    provider: 'local',
    instanceType,
    runId,
    slots,
    executor: flags.workload,
    syntheticSize: positive(flags.syntheticSize, '--synthetic-size'),
    heartbeatS: Math.max(1, Math.min(30, positive(flags.heartbeatTimeoutS, '--heartbeat-timeout-s') / 4)),
    hostId: `local-${instanceType}`,
    workDir: join(logDir, '..', 'runner-work', instanceType),
    ...(flags.image ? { image: flags.image } : {}),
    ...(dockerHost() ? { dockerHost: dockerHost() } : {}),
    ...(flags.rubyBenchDir ? { rubyBenchDir: resolve(flags.rubyBenchDir) } : {}),
    maxRetryS: 60,
    logWrite: (line) => log.write(line.endsWith('\n') ? line : `${line}\n`),
  });
  return { handle, log };
}

async function startDashboard(
  stack: LocalStack,
  port: number,
): Promise<{ url: string; stop(): Promise<void> } | undefined> {
  try {
    return await serveDashboard({ apiUrl: stack.apiUrl, port });
  } catch (err) {
    say(`  (the dashboard could not be served: ${(err as Error).message})`);
    return undefined;
  }
}

/** The engine's address: BENCHFLEET_DOCKER_HOST (also the runner's variable), else DOCKER_HOST. */
const dockerHost = (): string | undefined => process.env.BENCHFLEET_DOCKER_HOST ?? process.env.DOCKER_HOST;

async function requireDocker(): Promise<void> {
  const Docker = (await import('dockerode')).default;
  const host = dockerHost();
  const docker = host?.startsWith('unix://') ? new Docker({ socketPath: host.slice(7) }) : new Docker();
  try {
    await docker.ping();
  } catch (err) {
    throw new CliError(
      `--workload docker needs a Docker engine, and none answered (${(err as Error).message}); start dockerd, or set BENCHFLEET_DOCKER_HOST=unix:///path/to/docker.sock`,
    );
  }
}
