// The `.benchfleet/` folder: what the CLI keeps between commands. `outputs.json` comes from
// `cdk deploy --outputs-file`; `fleet-<run>.json` and `azure-<run>.tfvars.json` describe the
// fleets of a run so `start` can tear them down and `nuke` can find them again.
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { makeDir } from '../../lambdas/shared/make-dir';
import { CliError } from './errors';

export const META_STACK = 'Benchfleet';
export const FLEET_STACK = 'BenchfleetFleet';

/** BENCHFLEET_STATE_DIR moves it (tests use a temporary folder). */
export function stateDir(): string {
  return resolve(process.env.BENCHFLEET_STATE_DIR ?? '.benchfleet');
}

export function ensureStateDir(): string {
  const dir = stateDir();
  // Holds var files with the runner key: readable by the owner only.
  makeDir(dir, 0o700);
  return dir;
}

export const outputsFile = (): string => join(stateDir(), 'outputs.json');
export const fleetFile = (runId: number): string => join(stateDir(), `fleet-${runId}.json`);
export const azureVarFile = (runId: number): string => join(stateDir(), `azure-${runId}.tfvars.json`);
/**
 * The Azure subscription a run's fleet was applied in: its teardown acts there, whatever az's
 * current subscription or ARM_SUBSCRIPTION_ID is by then (someone may have switched since).
 */
export const azureSubscriptionFile = (runId: number): string =>
  join(stateDir(), `azure-${runId}.subscription`);

export const MetaOutputs = z.object({
  ApiUrl: z.string().min(1),
  DashboardUrl: z.string().min(1),
  OperatorKeySecretArn: z.string().min(1),
  RunnerKeySecretArn: z.string().min(1),
  ResultsBucket: z.string().min(1),
  ArtifactBucket: z.string().min(1),
  RunnerArtifactKey: z.string().min(1),
  StateMachineArn: z.string().min(1),
});
export type MetaOutputs = z.infer<typeof MetaOutputs>;

/** The meta stack's outputs, or undefined when nothing was deployed from this folder. */
export function readOutputs(): MetaOutputs | undefined {
  const file = outputsFile();
  if (!existsSync(file)) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new CliError(
      `${file} is not valid JSON (${(err as Error).message}); run \`benchfleet deploy\` to rewrite it`,
    );
  }
  const stack = (json as Record<string, unknown>)[META_STACK];
  const parsed = MetaOutputs.safeParse(stack);
  if (!parsed.success) {
    const missing = parsed.error.issues.map((i) => i.path.join('.')).join(', ');
    throw new CliError(
      `${file} lacks the ${META_STACK} stack's outputs (${missing}); run \`benchfleet deploy\` to refresh it`,
    );
  }
  return parsed.data;
}

/**
 * This folder's record of its deployment, or undefined when there is none or it cannot be read (a
 * deploy that failed half-way): for commands that only look at it, or replace or remove it.
 */
export function readOutputsIfAny(): MetaOutputs | undefined {
  try {
    return readOutputs();
  } catch {
    return undefined;
  }
}

/** The AWS region of the deployment the outputs describe (its key secrets' ARNs name it). */
export function outputsRegion(outputs: MetaOutputs): string | undefined {
  return arnRegion(outputs.OperatorKeySecretArn);
}

/** The region an ARN names (arn:aws:service:REGION:account:...); none for a name that is no ARN. */
export function arnRegion(arn: string): string | undefined {
  const parts = arn.split(':');
  return (parts[0] === 'arn' && parts[3]) || undefined;
}

export function requireOutputs(): MetaOutputs {
  const outputs = readOutputs();
  if (!outputs) {
    throw new CliError(
      `no deployment found (${outputsFile()} is missing): run \`benchfleet deploy\` first from this folder, or set BENCHFLEET_STATE_DIR to that deployment's .benchfleet folder`,
    );
  }
  return outputs;
}

/** An API URL without its trailing slashes, so `https://x/` and `https://x` compare equal. */
export const trimUrl = (url: string): string => url.replace(/\/+$/, '');

/** Whether `url` is this folder's deployment's API (ApiUrl in `.benchfleet/outputs.json`). */
export function isDeploymentApi(url: string, outputs: MetaOutputs | undefined = readOutputs()): boolean {
  return outputs !== undefined && trimUrl(outputs.ApiUrl) === trimUrl(url);
}

/**
 * How to get a finished run's results: `benchfleet download` reads the deployment's results
 * bucket, so it only fits the deployment's own API; another API's archive (a local one,
 * `benchfleet local --serve`) is the `gzip_url` of its GET /run, which `benchfleet status` shows
 * with the key.
 */
/** An API on this machine (as `benchfleet local` serves it), by its URL. */
export const isLoopbackUrl = (url: string): boolean =>
  /^https?:\/\/(localhost|127\.\d+\.\d+\.\d+|\[::1\])(:|\/|$)/.test(url);

export function resultsHint(runId: number | string, apiUrl: string): string {
  const outputs = readOutputs();
  if (isDeploymentApi(apiUrl, outputs)) return `Get the results with \`benchfleet download ${runId}\``;
  const url = trimUrl(apiUrl);
  // a `benchfleet local` run (not --serve) saves its own results: only the other runs need this
  const local = isLoopbackUrl(url)
    ? `A run \`benchfleet local\` started itself is saved into results/${runId}/ by it; for one started over --serve: `
    : '';
  return (
    `${local}${local ? 'get' : 'Get'} the archive's link with \`benchfleet status --api-url ${url} --api-key <operator key>\` ` +
    `(its "archive:" line, GET /run's gzip_url), unpack it into results/${runId}/ (\`tar -xzf\`) and ` +
    `build the site with \`benchfleet site results/${runId}\`` +
    (outputs
      ? ` (\`benchfleet download\` reads the bucket of this folder's deployment at ${trimUrl(outputs.ApiUrl)}, not this API's)`
      : '')
  );
}

export function writeJson(file: string, value: unknown, secret = false): void {
  ensureStateDir();
  writeFileSync(file, `${JSON.stringify(value, null, 2)}\n`, secret ? { mode: 0o600 } : {});
}

/** Run ids that still have a fleet file of the given kind, oldest first. */
export function runsWithFiles(kind: 'fleet' | 'azure'): number[] {
  const dir = stateDir();
  if (!existsSync(dir)) return [];
  const pattern = kind === 'fleet' ? /^fleet-(\d+)\.json$/ : /^azure-(\d+)\.tfvars\.json$/;
  return readdirSync(dir)
    .map((f) => pattern.exec(f)?.[1])
    .filter((id): id is string => id !== undefined)
    .map(Number)
    .sort((a, b) => a - b);
}

export function removeFile(file: string): void {
  rmSync(file, { force: true });
}
