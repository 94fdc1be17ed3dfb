// `benchfleet-runner`: flags, each also readable from BENCHFLEET_<FLAG> for cloud-init (and
// BENCHFLEET_API_URL for --api). This file is the bundle's entry: `node dist/runner.js --help`.
import { Command, InvalidArgumentError, Option } from 'commander';
import { PROVIDERS } from '../lambdas/shared/contract';
import { createRunner, type RunnerResult } from './agent';
import { DEFAULTS, EXECUTORS, MAX_TIMER_S, type RunnerInput, SettingError, timerLimitText } from './options';
import { SLOTS_CHOICES, type SlotsSetting } from './topology';

export { createRunner, type RunnerHandle, type RunnerResult, startRunner } from './agent';
export type { RunnerInput, RunnerOptions } from './options';

const envName = (flag: string): string =>
  flag === 'api' ? 'BENCHFLEET_API_URL' : `BENCHFLEET_${flag.replace(/-/g, '_').toUpperCase()}`;

const num =
  (min: number, max = Number.POSITIVE_INFINITY) =>
  (v: string): number => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < min) throw new InvalidArgumentError(`must be a number >= ${min}`);
    if (n > max) throw new InvalidArgumentError(`${n} is too long: ${timerLimitText}`);
    return n;
  };
/** Seconds that become a timer's delay: positive, and no longer than a Node timer can wait. */
const timerSeconds = num(0.01, MAX_TIMER_S);
const slotsArg = (v: string): SlotsSetting => {
  if (v === 'auto' || v === 'cores') return v;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`must be ${SLOTS_CHOICES}`);
  return n;
};

function opt(flags: string, description: string, parse?: (v: string) => unknown): Option {
  const long = /--([a-z-]+)/.exec(flags)?.[1] ?? '';
  // Boolean flags read their variable by hand: commander takes any set variable as true, even "false".
  if (!flags.includes('<')) return new Option(flags, `${description} (env: ${envName(long)}=true)`);
  const o = new Option(flags, description).env(envName(long));
  if (parse) o.argParser(parse);
  return o;
}

const BOOLEAN_FLAGS = ['shutdown-on-done', 'debug', 'json'] as const;

export function buildProgram(): Command {
  return new Command('benchfleet-runner')
    .description('Claims benchmark tasks from a Benchfleet API and runs them, one slot per CPU.')
    .addOption(opt('--api <url>', 'API base URL').makeOptionMandatory())
    .addOption(opt('--api-key <key>', 'runner key (Bearer token)').makeOptionMandatory())
    .addOption(opt('--provider <name>', 'provider of this host').choices(PROVIDERS).makeOptionMandatory())
    .addOption(opt('--instance-type <type>', 'instance type of this host').makeOptionMandatory())
    .addOption(opt('--run-id <id>', 'claim for this run (POST /runs/{id}/tasks/claim)', num(1)))
    .addOption(
      opt('--slots <n|auto|cores>', 'auto: one per vCPU; cores: one per physical core', slotsArg).default(
        'auto',
      ),
    )
    .addOption(opt('--executor <name>', 'how tasks run').choices(EXECUTORS).default(DEFAULTS.executor))
    .addOption(
      opt('--command <cmd>', 'shell command of the command executor ($BENCHFLEET_OUT_PATH is the out dir)'),
    )
    .addOption(opt('--ruby-bench-ref <ref>', 'ruby-bench git ref when the task names none'))
    .addOption(
      opt('--ruby-bench-dir <dir>', 'local ruby-bench checkout mounted instead of cloning (offline)'),
    )
    .addOption(opt('--image <image>', "container image; default the task's (ruby:<ruby_version>)"))
    .addOption(
      opt('--docker-host <url>', 'Docker engine (unix:///path.sock, tcp://host:port); default DOCKER_HOST'),
    )
    .addOption(
      opt('--heartbeat-s <s>', 'seconds between heartbeats', timerSeconds).default(DEFAULTS.heartbeatS),
    )
    .addOption(
      opt('--task-timeout-s <s>', 'a task running longer fails as timeout', timerSeconds).default(
        DEFAULTS.taskTimeoutS,
      ),
    )
    .addOption(opt('--shutdown-on-done', 'power the host off when every slot is done'))
    .addOption(opt('--shutdown-command <cmd>', 'how to power off').default(DEFAULTS.shutdownCommand))
    .addOption(opt('--debug', 'verbose log; keep a failed host and its files up'))
    .addOption(opt('--work-dir <dir>', 'scratch space for task files').default(DEFAULTS.workDir))
    .addOption(opt('--json', 'log JSON lines instead of text'))
    .addOption(
      opt('--synthetic-size <n>', 'work per synthetic iteration; 0 = instant', num(0)).default(
        DEFAULTS.syntheticSize,
      ),
    )
    .addOption(
      opt(
        '--max-retry-s <s>',
        'give up after this long without an answer from the API (or from S3, for a result upload)',
        num(0),
      ).default(DEFAULTS.maxRetryS),
    )
    .addOption(
      opt(
        '--start-wait-s <s>',
        'give up (and power off with --shutdown-on-done) when no task came this long after start',
        num(1),
      ).default(DEFAULTS.startWaitS),
    )
    .addOption(opt('--host-id <id>', 'runner id prefix; default instance metadata or the hostname'))
    .addHelpText(
      'after',
      `\nEvery flag is also an environment variable: BENCHFLEET_<FLAG> (BENCHFLEET_INSTANCE_TYPE), and BENCHFLEET_API_URL for --api.`,
    );
}

const truthy = (v: string | undefined): boolean | undefined =>
  v === undefined || v === '' ? undefined : /^(1|true|yes|on)$/i.test(v);

/** Parses argv (without node and script) and the environment into runner input. */
export function parseArgs(argv: string[], env: NodeJS.ProcessEnv = process.env): RunnerInput {
  const program = buildProgram()
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
  const saved = { ...process.env };
  Object.assign(process.env, env);
  try {
    program.parse(argv, { from: 'user' });
  } catch (err) {
    // commander's "required option '--api-key <key>' not specified" says nothing of the variable
    // cloud-init sets instead, which is where a runner's flags usually come from
    const { code, message } = err as { code?: string; message?: string };
    const flag = /'--([a-z-]+)/.exec(message ?? '')?.[1];
    if (code === 'commander.missingMandatoryOptionValue' && flag)
      process.stderr.write(
        `(give --${flag}, or set ${envName(flag)}; --help lists every flag and variable)\n`,
      );
    throw err;
  } finally {
    for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
    Object.assign(process.env, saved);
  }
  const v = program.opts<Record<string, unknown>>();
  const bool = (flag: (typeof BOOLEAN_FLAGS)[number], key: string): boolean =>
    v[key] === true || (truthy(env[envName(flag)]) ?? false);
  return {
    apiUrl: v.api as string,
    apiKey: v.apiKey as string,
    provider: v.provider as RunnerInput['provider'],
    instanceType: v.instanceType as string,
    runId: v.runId as number | undefined,
    slots: v.slots as SlotsSetting,
    executor: v.executor as RunnerInput['executor'],
    command: v.command as string | undefined,
    rubyBenchRef: v.rubyBenchRef as string | undefined,
    rubyBenchDir: v.rubyBenchDir as string | undefined,
    image: v.image as string | undefined,
    dockerHost: v.dockerHost as string | undefined,
    heartbeatS: Number(v.heartbeatS),
    taskTimeoutS: Number(v.taskTimeoutS),
    shutdownOnDone: bool('shutdown-on-done', 'shutdownOnDone'),
    shutdownCommand: v.shutdownCommand as string,
    debug: bool('debug', 'debug'),
    workDir: v.workDir as string,
    json: bool('json', 'json'),
    syntheticSize: Number(v.syntheticSize),
    maxRetryS: Number(v.maxRetryS),
    startWaitS: Number(v.startWaitS),
    hostId: v.hostId as string | undefined,
  };
}

export async function main(argv: string[]): Promise<number> {
  let input: RunnerInput;
  try {
    input = parseArgs(argv);
  } catch (err) {
    const e = err as { code?: string; exitCode?: number };
    if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version') return 0;
    return e.exitCode ?? 2;
  }
  let handle: ReturnType<typeof createRunner>;
  try {
    handle = createRunner(input);
  } catch (err) {
    process.stderr.write(`runner: ${(err as Error).message}\n`);
    return 2;
  }
  let signal: NodeJS.Signals | undefined;
  const onSignal = (s: NodeJS.Signals): void => {
    signal = s;
    process.stderr.write(`runner: ${s}: failing in-flight tasks as interrupted, then exiting\n`);
    handle.stop();
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  let result: RunnerResult;
  try {
    result = await handle.done;
  } catch (err) {
    // a setting it cannot use says what to fix; anything else is unexpected, and its stack helps
    const text = err instanceof SettingError ? err.message : ((err as Error).stack ?? String(err));
    process.stderr.write(`runner: ${text}\n`);
    return 1;
  }
  if (signal) return signal === 'SIGINT' ? 130 : 143;
  return result.exitCode;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`runner: ${String(err)}\n`);
      process.exit(1);
    },
  );
}
