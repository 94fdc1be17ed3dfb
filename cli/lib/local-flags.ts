// The options of `benchfleet local`, and their checks: every flag is read and refused here, before
// the stack or a run starts, so a typo never leaves a half-made run behind (with --data-dir, the
// next call would resume it). A refusal names the flag, what it takes, and what it got.
import { accessSync, constants, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { type Command, Option } from 'commander';
import { KEYS_FILE, keyClash } from '../../lambdas/adapters/local/keys';
import { MAX_TIMER_S } from '../../runner/options';
import { MAX_SLOTS, SLOTS_CHOICES, type SlotsSetting } from '../../runner/topology';
import { LOCAL_CONFIG } from '../config';
import { blankResultsRoot } from './archive';
import { CliError } from './errors';

export interface LocalFlags {
  config: string;
  workload: string;
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
  verbose?: boolean;
}

/** The flags as values, all checked. */
export interface LocalSettings {
  workload: 'synthetic' | 'docker';
  port: number;
  dashboardPort: number;
  heartbeatTimeoutS: number;
  reaperIntervalS: number;
  slots: SlotsSetting;
  syntheticSize: number;
  image?: string;
  rubyBenchDir?: string;
  /** The flags given on the command line (givenFlags), as against left at their defaults. */
  given: ReadonlySet<keyof LocalFlags>;
}

export function localOptions(cmd: Command): Command {
  return cmd
    .addOption(
      // the project's own file whatever the current folder (a --config given is relative to that folder)
      new Option('-c, --config <file>', 'run config (JSON with comments)').default(
        LOCAL_CONFIG,
        'runs/local.json in the Benchfleet folder',
      ),
    )
    .option(
      '--workload <kind>',
      'synthetic (built-in micro-benchmarks, offline) or docker (ruby-bench in containers)',
      'synthetic',
    )
    .option('--keep', 'leave the API and the dashboard up after the run (Ctrl-C stops them)')
    .option(
      '--serve',
      'only serve the API and the dashboard (and print the keys); you start the run and its runners (see below)',
    )
    .option('--port <n>', 'API port (default 8787 with --serve, any free port otherwise; 0 = any)')
    .option('--dashboard-port <n>', 'dashboard port (0 = any free port)', '0')
    .option(
      '--data-dir <dir>',
      'keep the local DynamoDB, S3 and keys here; a restart resumes what was in flight, with the workload it was started with',
    )
    .option('--api-key <key>', 'operator key (env BENCHFLEET_API_KEY; generated when absent)')
    .option('--runner-key <key>', 'runner key (env BENCHFLEET_RUNNER_KEY; generated when absent)')
    .option('--heartbeat-timeout-s <s>', 'fail tasks silent for this long', '120')
    .option('--reaper-interval-s <s>', 'how often the reaper runs', '60')
    .option(
      '--results-dir <dir>',
      'where results/<run-id>/ goes (default: results, or BENCHFLEET_RESULTS_DIR)',
    )
    .option(
      '--slots <n>',
      `slots per local runner: auto (one per vCPU), cores (one per physical core) or 1 to ${MAX_SLOTS}`,
      'auto',
    )
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
    .option('--json', 'print the final report as JSON on stdout (everything else goes to stderr)')
    .option(
      '--verbose',
      "also show the handlers' INFO logs (JSON lines, on stderr); POWERTOOLS_LOG_LEVEL sets any level",
    )
    .addHelpText(
      'after',
      [
        '',
        'With --serve, start a run (POST /run/start, operator key) and attach a runner per instance type:',
        '  curl -X POST <API>/run/start -H "authorization: Bearer <operator key>" \\',
        '    -H "content-type: application/json" \\',
        '    -d \'{"ruby_version":"3.4.7","runs_per_instance_type":2,"local":["local-a"]}\'',
        '  node scripts/build-runner.mjs   # once: builds dist/runner.js',
        '  node dist/runner.js --provider local --instance-type local-a --executor synthetic \\',
        '    --api <API> --api-key <runner key>',
        '`benchfleet status` and `watch` with --api-url <API> follow it (runner flags: runner/README.md).',
      ].join('\n'),
    );
}

const refuse = (flag: string, accepted: string, value: string): CliError =>
  new CliError(`${flag} must be ${accepted}, got "${value}"`);

const number = (value: string): number => (value.trim() === '' ? Number.NaN : Number(value));

function port(value: string, flag: string): number {
  const n = number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw refuse(flag, 'a whole number from 0 to 65535 (0 = any free port)', value);
  return n;
}

/** Intervals and timeouts: 0 would make the reaper spin or fail every task at once. */
function seconds(value: string, flag: string): number {
  const n = number(value);
  if (!Number.isFinite(n) || n <= 0) throw refuse(flag, 'a number of seconds above zero', value);
  if (n > MAX_TIMER_S)
    throw refuse(
      flag,
      `at most ${MAX_TIMER_S} seconds (about 24.8 days, the longest wait of a Node timer)`,
      value,
    );
  return n;
}

function slots(value: string): SlotsSetting {
  if (value === 'auto' || value === 'cores') return value;
  const n = number(value);
  if (!Number.isInteger(n) || n < 1 || n > MAX_SLOTS) throw refuse('--slots', SLOTS_CHOICES, value);
  return n;
}

function syntheticSize(value: string): number {
  const n = number(value);
  if (!Number.isFinite(n) || n < 0)
    throw refuse('--synthetic-size', 'a number of zero or more (0 = instant)', value);
  return n;
}

/** Whether `path` is a folder now (missing or unreadable: not). */
export function isFolder(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function folder(value: string, flag: string): string {
  if (value.trim() === '') throw refuse(flag, 'an existing folder', value); // resolve('') is the cwd
  const dir = resolve(value);
  if (!isFolder(dir)) throw refuse(flag, 'an existing folder', value);
  return dir;
}

/**
 * An empty or blank key (`--api-key ""`, `BENCHFLEET_API_KEY=`) would be taken as the key, match
 * no caller (every call a 401) and be saved in the data dir: refused, as a typo is. The flag wins
 * over the variable, so the variable is checked only without the flag.
 */
function key(
  flag: string,
  value: string | undefined,
  variable: string,
  generated: string,
  env: NodeJS.ProcessEnv,
): void {
  if (value !== undefined) {
    if (value.trim() === '')
      throw refuse(flag, 'a non-blank key (leave the flag out to have one generated)', value);
    return;
  }
  const set = env[variable];
  if (set !== undefined && set.trim() === '')
    throw new CliError(
      `${variable} is set but ${set === '' ? 'empty' : 'blank'}: unset it to have ${generated} generated, or set it to the key`,
    );
}

/**
 * --data-dir: blank would be taken as no data dir (a temp one, removed at exit), so what the user
 * asked to keep would not be kept. The folder is made when missing, so a path that is, or runs
 * through, a file (or cannot be written) would only fail later with a bare EEXIST or ENOTDIR: it is
 * refused here, by looking only.
 */
function dataDir(value: string): string {
  if (value.trim() === '')
    throw refuse(
      '--data-dir',
      'a non-blank folder (leave the flag out for a temporary data dir, removed at exit)',
      value,
    );
  const dir = resolve(value);
  const why = dataDirProblem(dir);
  if (why)
    throw new CliError(
      `cannot use the data dir ${dir} (${why}); pass a folder you can write with --data-dir (a missing one is made), or fix that path`,
    );
  return dir;
}

/** What stops `dir` being made (if missing) and written; undefined when nothing does. */
function dataDirProblem(dir: string): string | undefined {
  for (let at = dir; ; at = dirname(at)) {
    let stat: ReturnType<typeof statSync>;
    try {
      stat = statSync(at);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      // missing, or under a file: the first folder (or file) above tells
      if ((code === 'ENOENT' || code === 'ENOTDIR') && dirname(at) !== at) continue;
      return (err as Error).message;
    }
    const it = at === dir ? 'it' : at;
    if (!stat.isDirectory()) return `${it} is ${stat.isFile() ? 'a file, not a folder' : 'not a folder'}`;
    try {
      accessSync(at, constants.W_OK | constants.X_OK);
    } catch {
      return `${it} is not writable`;
    }
    return undefined;
  }
}

/**
 * The runner key (the one runners, and in the cloud the VMs, get) must not be the operator key, or
 * it could start and stop runs: the keys given (flag, else variable) must differ, from each other
 * and from the key saved for the other role in the data dir's keys.json.
 */
function differentKeys(flags: LocalFlags, env: NodeJS.ProcessEnv, dir: string | undefined): void {
  const operatorKey = flags.apiKey ?? env.BENCHFLEET_API_KEY;
  const runnerKey = flags.runnerKey ?? env.BENCHFLEET_RUNNER_KEY;
  const same = keyClash({ ...(dir ? { dataDir: dir } : {}), operatorKey, runnerKey });
  if (!same) return;
  const op = flags.apiKey !== undefined ? '--api-key' : 'BENCHFLEET_API_KEY';
  const run = flags.runnerKey !== undefined ? '--runner-key' : 'BENCHFLEET_RUNNER_KEY';
  const file = dir ? join(dir, KEYS_FILE) : KEYS_FILE;
  const operator = same.operator === 'given' ? `from ${op}` : `saved in ${file}`;
  const runner = same.runner === 'given' ? `from ${run}` : `saved in ${file}`;
  const fix =
    same.operator === 'given' && same.runner === 'given'
      ? 'give two different keys'
      : same.operator === 'given'
        ? `use another key for ${op}`
        : same.runner === 'given'
          ? `use another key for ${run}`
          : `delete ${file} to have new keys made, or give two different keys with --api-key and --runner-key`;
  throw new CliError(
    `the operator key ${operator} is the same as the runner key ${runner}; the two keys must differ (the runners get the runner key, which must not be able to start or stop runs): ${fix}`,
  );
}

/** The flags only the docker workload uses. */
const DOCKER_ONLY = [
  ['image', '--image'],
  ['rubyBenchDir', '--ruby-bench-dir'],
] as const;

/**
 * --image and --ruby-bench-dir for a run of the synthetic workload, which runs no container, would
 * be ignored without a word, and its numbers taken for ruby-bench's: whoever gave them meant a
 * docker run, so they are refused. `resumed`: the data dir's run, whose workload is already set.
 * (--synthetic-size has a default and is passed by habit, docker or not: it is not refused.)
 */
export function refuseDockerOnlyFlags(
  settings: LocalSettings,
  resumed?: { runId: number; dataDir: string },
): void {
  if (settings.workload !== 'synthetic') return;
  const given = DOCKER_ONLY.filter(([key]) => settings[key] !== undefined).map(([, flag]) => flag);
  if (given.length === 0) return;
  const flags = given.join(' and ');
  const [they, them] = given.length === 1 ? ['it', 'it'] : ['they', 'them'];
  if (resumed)
    throw new CliError(
      `run ${resumed.runId} in the data dir ${resumed.dataDir} goes on with the synthetic workload, which runs no container, so ${flags} would be ignored: leave ${them} out to resume it, or start a docker run with another --data-dir`,
    );
  const workload = settings.given.has('workload') ? 'synthetic workload' : 'synthetic workload (the default)';
  throw new CliError(
    `${flags} ${given.length === 1 ? 'is' : 'are'} for --workload docker, but this run would use the ${workload}, which runs no container, so ${they} would be ignored: add --workload docker, or leave ${them} out`,
  );
}

/** Reads every flag, or refuses the first bad one; touches nothing (it reads the data dir's keys.json). */
export function checkLocalFlags(
  flags: LocalFlags,
  env: NodeJS.ProcessEnv = process.env,
  given: ReadonlySet<keyof LocalFlags> = new Set(),
): LocalSettings {
  if (flags.workload !== 'synthetic' && flags.workload !== 'docker')
    throw refuse('--workload', 'synthetic or docker', flags.workload);
  key('--api-key', flags.apiKey, 'BENCHFLEET_API_KEY', 'an operator key', env);
  key('--runner-key', flags.runnerKey, 'BENCHFLEET_RUNNER_KEY', 'a runner key', env);
  const dir = flags.dataDir === undefined ? undefined : dataDir(flags.dataDir);
  const blankResults = blankResultsRoot(flags.resultsDir, env);
  if (blankResults) throw new CliError(blankResults);
  differentKeys(flags, env, dir);
  return {
    workload: flags.workload,
    port: port(flags.port ?? (flags.serve ? '8787' : '0'), '--port'),
    dashboardPort: port(flags.dashboardPort, '--dashboard-port'),
    heartbeatTimeoutS: seconds(flags.heartbeatTimeoutS, '--heartbeat-timeout-s'),
    reaperIntervalS: seconds(flags.reaperIntervalS, '--reaper-interval-s'),
    slots: slots(flags.slots),
    syntheticSize: syntheticSize(flags.syntheticSize),
    ...(flags.image ? { image: flags.image } : {}),
    ...(flags.rubyBenchDir !== undefined && { rubyBenchDir: folder(flags.rubyBenchDir, '--ruby-bench-dir') }),
    given,
  };
}

/** The flags given on the command line, as against left at their defaults (commander's source). */
export function givenFlags(cmd: Command): ReadonlySet<keyof LocalFlags> {
  return new Set(
    cmd.options
      .map((o) => o.attributeName() as keyof LocalFlags)
      .filter((name) => cmd.getOptionValueSource(name) === 'cli'),
  );
}
