// Running cdk, terraform and az: their output streams to stderr under a heading (prefixed when
// two run at once), and a missing tool or a missing login becomes a message that says what to do.
import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync, rmSync, statSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { parse, quote } from 'shell-quote';
import { CliError, CredentialsError, ToolMissingError } from './errors';
import { ensureStateDir } from './state';

export type Tool = 'cdk' | 'terraform' | 'az';

/**
 * The checkout this CLI runs from (as cli/config.ts finds runs/local.json), whatever the current
 * folder: every tool starts here, so `npx cdk` finds cdk.json and the project's own CDK CLI (not
 * the network), and terraform's `-chdir=terraform-azure` is this checkout's module.
 */
export const PROJECT_ROOT = resolve(__dirname, '..', '..');

/**
 * How each tool is invoked. `npx cdk` uses the project's pinned CDK CLI; BENCHFLEET_CDK,
 * BENCHFLEET_TERRAFORM and BENCHFLEET_AZ replace the command (tests point them at fakes, and
 * an operator can point them at another install). terraform and az are looked up on PATH.
 */
export function toolCommand(tool: Tool): string[] {
  const value = overrideOf(tool);
  return value ? overrideCommand(tool, value) : DEFAULT_COMMANDS[tool].split(' ');
}

const DEFAULT_COMMANDS: Record<Tool, string> = { cdk: 'npx cdk', terraform: 'terraform', az: 'az' };
const overrideName = (tool: Tool): string => `BENCHFLEET_${tool.toUpperCase()}`;
const overrideOf = (tool: Tool): string | undefined => process.env[overrideName(tool)]?.trim() || undefined;

/**
 * An override is read as a shell reads a command line (shell-quote), but expands nothing: words
 * split at blanks; quotes and a backslash keep blanks in a word (`"/opt/my tools/cdk" --profile x`).
 * A whole value that names a file is that file, blanks and all (`export BENCHFLEET_CDK="$PWD/my
 * tools/cdk"` leaves no quotes in it). The tool runs in the project root, but the paths in the
 * value are the current folder's, as the person who wrote them meant: the command when it has a
 * slash, and every later word that starts with ./ or ../ (`node ./node_modules/aws-cdk/bin/cdk`).
 */
function overrideCommand(tool: Tool, value: string): string[] {
  if (value.includes('/') && isFile(resolve(value))) return [resolve(value)];
  return shellWords(tool, value).map((word, i) =>
    (i === 0 ? word.includes('/') : /^\.\.?\//.test(word)) && !isAbsolute(word) ? resolve(word) : word,
  );
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

function shellWords(tool: Tool, value: string): string[] {
  // shell-quote splits as a shell does; `$X` stays `$X`, as nothing is expanded
  const name = overrideName(tool);
  // shell-quote splits at the blank after a quote left open, where a shell would wait for more
  const open = /["']/.exec(value.replace(/"(?:[^"\\]|\\.)*"|'[^']*'|\\./g, ''));
  if (open) {
    throw new CliError(
      `${name} has a ${open[0]} that is never closed (${name}=${value}): close it, or unset ${name} to use \`${DEFAULT_COMMANDS[tool]}\``,
    );
  }
  const parsed = parse(value, (variable) => `$${variable}`);
  return parsed.map((entry) => {
    if (typeof entry === 'string') return entry;
    const what =
      'op' in entry && entry.op === 'glob' ? `the pattern ${entry.pattern}` : JSON.stringify(entry);
    throw new CliError(
      `${name} must be one command with its arguments, but ${name}=${value} has ${what}, which only a shell reads: quote it, or unset ${name} to use \`${DEFAULT_COMMANDS[tool]}\``,
    );
  });
}

/** A tool that could not be started: what to install, or, for an override, how it was read. */
function notStarted(
  tool: Tool,
  [cmd, ...args]: string[],
  err: NodeJS.ErrnoException,
  purpose: string = tool,
): CliError {
  const what =
    err.code === 'ENOENT'
      ? `${cmd} was not found (needed for ${purpose})`
      : `${cmd} cannot be run (needed for ${purpose}; ${err.code}: not an executable file)`;
  const value = overrideOf(tool);
  const name = overrideName(tool);
  let fix: string;
  if (!value) fix = INSTALL_HINTS[tool];
  else {
    const read = args.length ? `, read as the command ${cmd} with the arguments ${args.join(' ')}` : '';
    const hint =
      err.code === 'EACCES'
        ? ` (a script may need its interpreter first: ${name}="${quote(['node', cmd ?? ''])}")`
        : /\s/.test(value)
          ? ` (a path with blanks goes in quotes: ${name}='"/opt/my tools/${tool}"')`
          : '';
    fix = `it comes from ${name}=${value}${read}; fix ${name}${hint}, or unset it to use \`${DEFAULT_COMMANDS[tool]}\``;
  }
  // only a missing tool lets optional steps (the Azure sweep) skip themselves; a broken one is said
  return err.code === 'ENOENT' ? new ToolMissingError(`${what}: ${fix}`) : new CliError(`${what}: ${fix}`);
}

const INSTALL_HINTS: Record<Tool, string> = {
  cdk: 'run `npm ci` in the project folder (the CDK CLI is a dev dependency), or set BENCHFLEET_CDK',
  terraform:
    'install Terraform >= 1.5 (https://developer.hashicorp.com/terraform/install), or set BENCHFLEET_TERRAFORM',
  az: 'install the Azure CLI (https://learn.microsoft.com/cli/azure/install-azure-cli) and run `az login`, or set BENCHFLEET_AZ',
};

// Phrases the tools print when the operator is not signed in; matched to give the right advice.
const CREDENTIAL_PATTERNS: Array<[RegExp, string]> = [
  [
    /Unable to resolve AWS account|Could not load credentials|ExpiredToken|security token included in the request is (invalid|expired)|InvalidClientTokenId|no credentials have been configured/i,
    'AWS credentials are missing or expired: sign in (aws sso login, or set AWS_PROFILE / AWS_ACCESS_KEY_ID) and try again',
  ],
  [
    /az login|Please run 'az login'|Error building AzureRM Client|AADSTS\d+|subscription .* not found|No subscription found|subscription_id. is a required provider property/i,
    'Azure credentials or the subscription are missing or expired: run `az login` (and `az account set --subscription ...`), or set ARM_SUBSCRIPTION_ID (with ARM_CLIENT_ID/ARM_CLIENT_SECRET/ARM_TENANT_ID for a service principal), and try again',
  ],
];

// While `start` guards a phase (cli/lib/start-signals.ts), each tool runs in a process group (and
// session) of its own, and a quit signal reaches it only as the CLI forwards it: exactly once,
// whether it came from the terminal (a Ctrl-C goes to the foreground group, which the tools are no
// longer in) or to the CLI's pid alone (`kill PID`, a job runner). Twice, terraform and cdk would
// abort at once instead of stopping cleanly; never, the launch in flight would run to its end
// before the teardown. The price: a SIGKILL to the CLI's group leaves them running. Elsewhere
// (deploy, nuke, preflight) the tools share the CLI's group, and a Ctrl-C reaches them with it.
const tools = {
  ownGroups: false,
  running: new Set<ChildProcess>(),
  /** The signal forwarded by a quit: until resumeTools(), the step it ends starts no new tool. */
  interrupted: undefined as NodeJS.Signals | undefined,
};

/** Tools started from now on run in process groups of their own (on) or in the CLI's (off). */
export function isolateTools(on: boolean): void {
  tools.ownGroups = on;
}

/**
 * Sends `signal` to every tool running in its own group (the whole group: `npx` and the cdk it
 * runs), and keeps the step in flight from starting another one (terraform's apply after init).
 */
export function interruptTools(signal: NodeJS.Signals): void {
  tools.interrupted = signal;
  for (const child of tools.running) {
    try {
      if (child.pid) process.kill(-child.pid, signal);
    } catch {
      // it has just exited
    }
  }
}

/** The interrupted step has settled: the quit's clean-up may start tools again. */
export function resumeTools(): void {
  tools.interrupted = undefined;
}

export interface RunOptions {
  /** Printed above the output, e.g. `deploy the meta stack`. */
  heading?: string;
  /** Prefix of each streamed line when several tools run at once, e.g. `aws`. */
  label?: string;
  /** Keep stdout to parse (e.g. `-o json`) instead of streaming it. */
  capture?: boolean;
  /** Do not print anything, not even the heading (used for quiet probes). */
  quiet?: boolean;
  env?: NodeJS.ProcessEnv;
  /** Answer non-zero exits with the result instead of an error. */
  allowFailure?: boolean;
  /** What the tool is run for, should it be missing: `needed for <purpose>` (default: the tool's name). */
  purpose?: string;
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Variables of the user's shell that would steer a tool away from what the CLI hands it. Each
 * Azure run has a terraform workspace of its own, selected, and pinned by TF_WORKSPACE where it
 * matters (azure-fleet.ts pinnedWorkspace); one set in the shell makes `workspace select` fail, and
 * would have an apply or destroy work on another state.
 */
const SHELL_SETTINGS_LEFT_OUT: Partial<Record<Tool, string[]>> = { terraform: ['TF_WORKSPACE'] };
const shellSettingsLeftOut = (tool: Tool): NodeJS.ProcessEnv =>
  Object.fromEntries((SHELL_SETTINGS_LEFT_OUT[tool] ?? []).map((name) => [name, undefined]));

export async function runTool(tool: Tool, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  const assembly = tool === 'cdk' ? cloudAssemblyDir(args) : undefined;
  try {
    return await runToolIn(tool, assembly ? [...args, '--output', assembly] : args, opts);
  } finally {
    if (assembly) rmSync(assembly, { recursive: true, force: true });
  }
}

// cdk locks its cloud assembly folder (cdk.out) while it synthesizes and deploys: a second cdk
// command from the same checkout fails at once ("Another CLI (PID=...) is currently synthing to
// cdk.out"). That is `start` tearing down run 7's fleet while `deploy` or another `start` runs in
// another terminal. Each cdk command the CLI runs gets a folder of its own, removed when it ends;
// the folders of CLI processes that died before removing theirs are removed by the next one.
const CDK_COMMANDS_THAT_SYNTH = new Set(['deploy', 'destroy', 'synth', 'diff']);
let assemblies = 0;

function cloudAssemblyDir(args: string[]): string | undefined {
  if (!CDK_COMMANDS_THAT_SYNTH.has(args[0] ?? '') || args.includes('--output')) return undefined;
  const root = join(ensureStateDir(), 'cdk.out'); // 0700: the state folder holds runner keys
  removeDeadAssemblies(root);
  assemblies += 1;
  return join(root, `${process.pid}-${assemblies}`);
}

function removeDeadAssemblies(root: string): void {
  let names: string[];
  try {
    names = readdirSync(root);
  } catch {
    return; // none yet
  }
  for (const name of names) {
    const pid = Number(/^(\d+)-\d+$/.exec(name)?.[1]);
    if (pid && pid !== process.pid && !processAlive(pid)) {
      rmSync(join(root, name), { recursive: true, force: true });
    }
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'; // alive, another user's
  }
}

async function runToolIn(tool: Tool, args: string[], opts: RunOptions): Promise<RunResult> {
  const [cmd, ...pre] = toolCommand(tool);
  if (!cmd) {
    // only an override can be empty once read (BENCHFLEET_CDK='""')
    throw new ToolMissingError(
      `${overrideName(tool)}=${overrideOf(tool)} names no command: fix it, or unset it to use \`${DEFAULT_COMMANDS[tool]}\``,
    );
  }
  const shown = [cmd, ...pre, ...args].join(' ');
  if (tools.interrupted) throw new CliError(`\`${shown}\` was not started: quitting (${tools.interrupted})`);
  const out = process.stderr;
  if (!opts.quiet) {
    if (opts.heading) out.write(`\n== ${opts.heading} ==\n`);
    out.write(`${opts.label ? `[${opts.label}] ` : ''}$ ${shown}\n`);
  }
  const child = spawn(cmd, [...pre, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    cwd: PROJECT_ROOT,
    env: { ...process.env, ...shellSettingsLeftOut(tool), ...opts.env },
    detached: tools.ownGroups,
  });
  if (tools.ownGroups) {
    tools.running.add(child);
    child.once('close', () => tools.running.delete(child)).once('error', () => tools.running.delete(child));
  }
  let stdout = '';
  let stderr = '';
  const stream = (text: string, buffered: { rest: string }): void => {
    if (opts.quiet) return;
    const lines = (buffered.rest + text).split('\n');
    buffered.rest = lines.pop() ?? '';
    for (const line of lines) out.write(`${opts.label ? `[${opts.label}] ` : '  '}${line}\n`);
  };
  const bufOut = { rest: '' };
  const bufErr = { rest: '' };
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
    if (!opts.capture) stream(d.toString(), bufOut);
  });
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
    stream(d.toString(), bufErr);
  });
  const code = await new Promise<number>((resolve, reject) => {
    child.once('error', (err: NodeJS.ErrnoException) => {
      reject(
        err.code === 'ENOENT' || err.code === 'EACCES'
          ? notStarted(tool, [cmd, ...pre], err, opts.purpose)
          : err,
      );
    });
    child.once('close', (c, signal) => resolve(c ?? (signal ? 128 : 1)));
  });
  // Flush a last line that had no newline.
  if (!opts.capture && bufOut.rest) stream('\n', bufOut);
  if (bufErr.rest) stream('\n', bufErr);
  if (code !== 0 && !opts.allowFailure) {
    const all = `${stdout}\n${stderr}`;
    for (const [pattern, advice] of CREDENTIAL_PATTERNS) {
      // `terraform init failed`, not `terraform -chdir=terraform-azure failed`
      const step = args.find((a) => !a.startsWith('-')) ?? '';
      if (pattern.test(all)) throw new CredentialsError(`${tool} ${step} failed: ${advice}`);
    }
    if (/--app is required/.test(all)) {
      throw new CliError(
        `cdk found no app: ${PROJECT_ROOT} has no cdk.json (restore it: git restore cdk.json)`,
      );
    }
    const tail =
      opts.quiet || opts.capture ? `\n${lastLines(stderr || stdout, 8)}` : ' (its output is above)';
    throw new CliError(`\`${shown}\` failed with exit code ${code}${tail}`);
  }
  return { code, stdout, stderr };
}

function lastLines(text: string, n: number): string {
  return text
    .trimEnd()
    .split('\n')
    .slice(-n)
    .map((l) => `  ${l}`)
    .join('\n');
}

/** True when the tool can be started at all (for optional steps such as the Azure sweep). */
export async function toolAvailable(tool: Tool, probe: string[] = ['--version']): Promise<boolean> {
  try {
    await runTool(tool, probe, { quiet: true, capture: true, allowFailure: true });
    return true;
  } catch (err) {
    if (err instanceof ToolMissingError) return false;
    throw err;
  }
}
