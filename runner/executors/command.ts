// Runs a given shell command in the task's folder, for example a local Ruby with a ruby-bench
// checkout: `ruby /src/ruby-bench/run_benchmarks.rb --no-sudo --out_path="$BENCHFLEET_OUT_PATH"`.
import { spawn } from 'node:child_process';
import { openLogFiles } from './log-files';
import { type ExecContext, ExecError, type ExecResult, type Executor, NO_IMAGE } from './types';

/** How long a finished command's output pipes may stay open before the runner goes on. */
const DRAIN_MS = 2000;

/**
 * The runner's environment without what the benchmark must not see: every inherited BENCHFLEET_*
 * variable (the runner's own settings, BENCHFLEET_API_KEY among them, as the AWS user data and the
 * Azure cloud-init pass it) and any variable holding one of `secrets` (the key given by flag).
 * The command's output goes into the uploaded logs, which operators and the site read.
 */
export function commandEnv(base: NodeJS.ProcessEnv, secrets: readonly string[]): NodeJS.ProcessEnv {
  // a very short value would hide unrelated variables; real keys are long
  const hidden = secrets.filter((s) => s.length >= 8);
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(base)) {
    if (v === undefined || k.startsWith('BENCHFLEET_')) continue;
    if (hidden.some((s) => v.includes(s))) continue;
    env[k] = v;
  }
  return env;
}

/** Kills a process group; one already gone (ESRCH) is fine. */
function killGroup(pgid: number | undefined): void {
  if (!pgid) return;
  try {
    process.kill(-pgid, 'SIGKILL');
  } catch {
    // ESRCH: the group has no process left
  }
}

export class CommandExecutor implements Executor {
  readonly name = 'command';
  /** `secrets`: values no variable of the command's environment may hold (the runner key). */
  constructor(
    private readonly command: string,
    private readonly secrets: readonly string[] = [],
  ) {}

  async run(ctx: ExecContext): Promise<ExecResult> {
    const { task } = ctx;
    const env: NodeJS.ProcessEnv = {
      ...commandEnv(process.env, this.secrets),
      BENCHFLEET_OUT_PATH: ctx.outDir,
      BENCHFLEET_TASK_ID: String(task.id),
      BENCHFLEET_RUN: String(task.run),
      BENCHFLEET_RUBY_VERSION: task.ruby_version,
      BENCHFLEET_IMAGE: task.image,
      BENCHFLEET_BENCHMARKS: (task.benchmarks ?? []).join(' '),
      BENCHFLEET_CPU: String(ctx.slot.cpu),
    };
    for (const [k, v] of Object.entries(task.ruby_bench_env ?? {})) env[k] = String(v);
    ctx.onStatus('running', 'running the configured command');
    const logs = openLogFiles(ctx.logsDir, ctx.log);
    try {
      const code = await new Promise<number>((resolve, reject) => {
        // Own process group, so a timeout or abort kills the whole tree, not just the shell.
        const child = spawn('sh', ['-c', this.command], { cwd: ctx.taskDir, env, detached: true });
        const kill = (): void => {
          killGroup(child.pid);
          child.kill('SIGKILL');
        };
        ctx.signal.addEventListener('abort', kill, { once: true });
        // A timeout can fire before the process exists (a slow claim on a busy host).
        if (ctx.signal.aborted) kill();
        child.stdout.on('data', (b: Buffer) => {
          logs.out(b);
          ctx.onStdout(b.toString('utf8'));
        });
        child.stderr.on('data', (b: Buffer) => logs.err(b));
        child.on('error', (err) =>
          reject(new ExecError('benchmark_failed', `cannot start sh: ${err.message}`)),
        );
        child.on('exit', (c, sig) => {
          ctx.signal.removeEventListener('abort', kill);
          const settle = (): void => {
            // whatever it started in the background is stopped too, holding its output or not:
            // it would share the slot's CPU with the next task
            killGroup(child.pid);
            if (ctx.signal.aborted) reject(new ExecError('cancelled', 'command stopped'));
            else resolve(c ?? (sig ? 128 : 1));
          };
          // The command is over, but a process it left running (`cmd &`) may hold the output pipes
          // open: read what comes for a moment, then go on without it, and stop what is left of
          // its group (it would share the slot's CPU with the next task).
          const drain = setTimeout(() => {
            ctx.log.warn(`the command exited but left processes holding its output open; stopping them`);
            kill();
            child.stdout.destroy();
            child.stderr.destroy();
            settle();
          }, DRAIN_MS);
          child.once('close', () => {
            clearTimeout(drain);
            settle();
          });
        });
      });
      return { exitCode: code, ...NO_IMAGE };
    } finally {
      await logs.close();
    }
  }
}
