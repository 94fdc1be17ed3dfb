// Runs the cloud commands in-process (so aws-sdk-client-mock reaches their SDK clients) with
// fake cdk, terraform and az executables first on PATH that log their calls.
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Command, CommanderError } from 'commander';
import * as assemble from '../../cli/commands/assemble';
import * as deploy from '../../cli/commands/deploy';
import * as download from '../../cli/commands/download';
import * as nuke from '../../cli/commands/nuke';
import * as start from '../../cli/commands/start';
import * as status from '../../cli/commands/status';
import * as stop from '../../cli/commands/stop';
import * as teardown from '../../cli/commands/teardown';
import * as watch from '../../cli/commands/watch';
import { commandScope } from '../helpers/exit-code';
import { removeTempDir, tempDir } from '../helpers/temp-dir';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function program(): Command {
  const p = new Command('benchfleet').exitOverride();
  for (const m of [deploy, start, status, watch, stop, assemble, download, teardown, nuke]) m.register(p);
  return p;
}

/** Runs `benchfleet <args>` in this process, capturing stdout, stderr and the exit code. */
export async function runCli(args: string[]): Promise<CliResult> {
  const out: string[] = [];
  const err: string[] = [];
  const realOut = process.stdout.write.bind(process.stdout);
  const realErr = process.stderr.write.bind(process.stderr);
  const scope = commandScope();
  // only this command's output: a stray one still finishing from an earlier test writes through
  const capture = (sink: string[], real: typeof process.stdout.write) =>
    ((chunk: unknown, ...rest: unknown[]) => {
      if (!scope.current()) return (real as (...a: unknown[]) => boolean)(chunk, ...rest);
      sink.push(String(chunk));
      return true;
    }) as typeof process.stdout.write;
  process.stdout.write = capture(out, realOut);
  process.stderr.write = capture(err, realErr);
  process.exitCode = undefined;
  let code = 0;
  try {
    const p = program();
    p.configureOutput({ writeOut: (s) => out.push(s), writeErr: (s) => err.push(s) });
    for (const c of p.commands)
      c.exitOverride().configureOutput({ writeOut: (s) => out.push(s), writeErr: (s) => err.push(s) });
    code = await scope.run(() => p.parseAsync(args, { from: 'user' }));
  } catch (e) {
    if (!(e instanceof CommanderError)) throw e;
    code = e.exitCode;
  } finally {
    process.stdout.write = realOut;
    process.stderr.write = realErr;
    process.exitCode = undefined;
  }
  return { code, stdout: out.join(''), stderr: err.join('') };
}

export interface FakeCall {
  tool: string;
  args: string[];
  started: number;
  ended: number;
  fleetPlan?: Record<string, unknown>;
  tfvars?: Record<string, unknown>;
  /** terraform only: the mode of terraform-azure/terraform.tfstate.d when it ran (null: none) */
  stateDirMode?: number | null;
  /** cdk only: its --output folder (null: none given, so the checkout's cdk.out) */
  output?: string | null;
}

export interface Sandbox {
  dir: string;
  bin: string;
  log: string;
  calls(): FakeCall[];
  restore(): void;
}

const FAKE = resolve(__dirname, 'fakes', 'fake-tool.js');

/** A temp folder with fake tools first on PATH, .benchfleet/ and results/ inside it; restore() removes it. */
export function sandbox(env: Record<string, string> = {}): Sandbox {
  const dir = tempDir('bf-cli-');
  const bin = join(dir, 'bin');
  mkdirSync(bin);
  for (const tool of ['cdk', 'terraform', 'az']) {
    const file = join(bin, tool);
    writeFileSync(file, `#!/bin/sh\nexec "${process.execPath}" "${FAKE}" ${tool} "$@"\n`);
    chmodSync(file, 0o755);
  }
  const log = join(dir, 'calls.jsonl');
  const saved = { ...process.env };
  Object.assign(process.env, {
    PATH: `${bin}:${process.env.PATH}`,
    // npx would find the project's real cdk first; the CLI's override points at the fake on PATH.
    BENCHFLEET_CDK: 'cdk',
    BENCHFLEET_STATE_DIR: join(dir, '.benchfleet'),
    BENCHFLEET_RESULTS_DIR: join(dir, 'results'),
    BENCHFLEET_POLL_MS: '50',
    FAKE_LOG: log,
    ...env,
  });
  return {
    dir,
    bin,
    log,
    calls: () =>
      existsSync(log)
        ? readFileSync(log, 'utf8')
            .trim()
            .split('\n')
            .filter(Boolean)
            .map((l) => JSON.parse(l) as FakeCall)
        : [],
    restore: () => {
      for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
      Object.assign(process.env, saved);
      removeTempDir(dir);
    },
  };
}

/**
 * The call as a line, without the `--output <folder>` the CLI adds to each cdk command (a folder
 * of its own per command, `test/cli/cdk-output.test.ts`): `cdk deploy BenchfleetFleet -c ...`.
 */
export const argv = (c: FakeCall): string => {
  const at = c.tool === 'cdk' ? c.args.indexOf('--output') : -1;
  const args = at >= 0 ? [...c.args.slice(0, at), ...c.args.slice(at + 2)] : c.args;
  return [c.tool, ...args].join(' ');
};

export const FAKE_OPERATOR_ARN = 'arn:aws:secretsmanager:us-east-1:000000000000:secret:operator';

/** The meta stack's outputs as `cdk deploy --outputs-file` writes them, with fake names and ARNs. */
export function fakeOutputs(apiUrl: string, operatorKeySecretArn = FAKE_OPERATOR_ARN) {
  return {
    Benchfleet: {
      ApiUrl: apiUrl,
      DashboardUrl: 'https://dashboard.example.invalid/',
      OperatorKeySecretArn: operatorKeySecretArn,
      RunnerKeySecretArn: 'arn:aws:secretsmanager:us-east-1:000000000000:secret:runner',
      ResultsBucket: 'results-bucket',
      ArtifactBucket: 'artifact-bucket',
      RunnerArtifactKey: 'runner/runner.js',
      StateMachineArn: 'arn:aws:states:us-east-1:000000000000:stateMachine:assembly',
    },
  };
}

/** The few fields of the API's answers that the `start` tests read while playing the runners. */
export interface RunAnswer {
  status?: string;
  run_id?: number;
  task?: { id: number };
  presigned_urls?: { result: string };
}

/** A keyed JSON call to the local API at `apiUrl()` (a getter: the stack starts in beforeAll). */
export function playerApi(apiUrl: () => string) {
  return async (method: string, path: string, key: string, body?: unknown): Promise<RunAnswer> => {
    const res = await fetch(apiUrl() + path, {
      method,
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      ...(body !== undefined && { body: JSON.stringify(body) }),
    });
    return (await res.json()) as RunAnswer;
  };
}

/**
 * A fake runner's claim that waits out `wait` answers: GET /run already says `running` while the
 * start is still writing the run's tasks (`creating`), and a claim then is told to wait.
 */
export async function claimAssigned(
  call: ReturnType<typeof playerApi>,
  runId: number | undefined,
  key: string,
  body: { provider: string; instance_type: string; runner_id: string },
): Promise<RunAnswer> {
  for (let i = 0; i < 200; i++) {
    const claim = await call('POST', `/runs/${runId}/tasks/claim`, key, body);
    if (claim.status !== 'wait') return claim;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`run ${runId}: claims for ${body.instance_type} still answer wait after 10 s`);
}

/**
 * What `start` tests feed the fakes: a result tarball the fake runner uploads, an SSH public key
 * (in a temp folder removed after the test file).
 */
export function startFiles(prefix: string): { dir: string; tarball: Buffer; keyFile: string } {
  const dir = tempDir(prefix);
  writeFileSync(join(dir, 'output.txt'), 'fib 1.0\n');
  execFileSync('tar', ['-czf', join(dir, 'result.tar.gz'), '-C', dir, 'output.txt']);
  const keyFile = join(dir, 'id.pub');
  writeFileSync(keyFile, 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFAKEFAKEFAKE test@example\n');
  return { dir, tarball: readFileSync(join(dir, 'result.tar.gz')), keyFile };
}

/** CloudFormation's answer to DescribeStacks of a stack that does not exist (nothing deployed yet). */
export function stackGone(name = 'BenchfleetFleet'): Error {
  return Object.assign(new Error(`Stack with id ${name} does not exist`), { name: 'ValidationError' });
}
