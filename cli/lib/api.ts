// The CLI's client of the run API: GET /run, GET /run/tasks, POST /run/start and /run/stop, with
// the operator key from --api-key, BENCHFLEET_API_KEY, or (for the deployment's own API only) the
// deployment's Secrets Manager secret.

import { VERSION_HEADER } from '../../lambdas/shared/build-info';
import {
  ErrorBody,
  type RunConfig,
  type RunView,
  type StartRunResponse,
  type TaskListResponse,
  type TaskView,
} from '../../lambdas/shared/contract';
import { sameSecret } from '../../lambdas/shared/secret';
import { AWS_CREDENTIAL_ERRORS, AWS_REGION_HINT, CliError, describe, isAwsRegionMissing } from './errors';
import { arnRegion, isDeploymentApi, isLoopbackUrl, type MetaOutputs, readOutputs, trimUrl } from './state';
import { buildsWords, type OtherBuild, otherBuild } from './version-skew';

export interface ApiFlags {
  apiUrl?: string;
  apiKey?: string;
}

export interface ApiTarget {
  url: string;
  /** Lazily resolved: `status` and `watch` work without a key (reads are public). */
  key: () => Promise<string>;
  /** For a person whose key the API refused: which key it was, and how to fix it. */
  refused?: { key: string; fix: string };
  /** Where a key the person gave came from; none: the deployment's secret (or no key at all). */
  givenBy?: '--api-key' | 'BENCHFLEET_API_KEY';
  /** Where the URL came from: --api-url, BENCHFLEET_API_URL or .benchfleet/outputs.json. */
  urlFrom?: string;
  /** For a key that proved to be the runner key: which key it was, and how to send the operator key. */
  runnerKey?: { key: string; fix: string };
}

/**
 * Where the API is and how to get its operator key: the URL from --api-url, BENCHFLEET_API_URL,
 * then `.benchfleet/outputs.json`; the key from --api-key, BENCHFLEET_API_KEY, then the
 * deployment's Secrets Manager secret, which is only ever sent to the deployment's own API.
 */
export function apiTarget(flags: ApiFlags): ApiTarget {
  const outputs = readOutputs();
  const [given, urlFrom] = flags.apiUrl
    ? [flags.apiUrl, '--api-url']
    : process.env.BENCHFLEET_API_URL
      ? [process.env.BENCHFLEET_API_URL, 'BENCHFLEET_API_URL']
      : [outputs?.ApiUrl, '.benchfleet/outputs.json'];
  if (!given) {
    throw new CliError(
      'no API to talk to: pass --api-url (or set BENCHFLEET_API_URL) with the URL `benchfleet local --serve` printed, or run `benchfleet deploy` to deploy one to AWS (it records the API URL in .benchfleet/outputs.json)',
    );
  }
  const url = trimUrl(given);
  if (!isHttpUrl(url)) {
    throw new CliError(
      `${urlFrom} gives ${JSON.stringify(given)}, which is not an http(s) URL: pass the API's URL (ApiUrl in .benchfleet/outputs.json, or the one \`benchfleet local\` printed), such as https://abc123.execute-api.eu-west-1.amazonaws.com`,
    );
  }
  // trimmed, as the API trims the token it gets (a key pasted with a space, or read from a CRLF file)
  const flagKey = flags.apiKey?.trim() || undefined;
  const envKey = process.env.BENCHFLEET_API_KEY?.trim() || undefined;
  if (flagKey || envKey) {
    const refused = flagKey
      ? { key: 'the operator key given with --api-key', fix: "check --api-key: pass that API's operator key" }
      : {
          key: 'the operator key from BENCHFLEET_API_KEY',
          fix: "check BENCHFLEET_API_KEY (set in your environment): set it to that API's operator key, or unset it",
        };
    const runnerKey = runnerKeyFix(flagKey ? '--api-key' : 'BENCHFLEET_API_KEY', url, outputs);
    const givenBy = flagKey ? '--api-key' : 'BENCHFLEET_API_KEY';
    return {
      url,
      key: () => Promise.resolve((flagKey ?? envKey) as string),
      refused,
      givenBy,
      urlFrom,
      runnerKey,
    };
  }
  if (outputs && isDeploymentApi(url, outputs)) {
    let cached: Promise<string> | undefined;
    const key = (): Promise<string> => {
      cached ??= readSecret(outputs.OperatorKeySecretArn, 'operator key');
      return cached;
    };
    const refused = {
      key: `the deployment's key from Secrets Manager (${outputs.OperatorKeySecretArn})`,
      fix: 'if the stack was redeployed, `benchfleet deploy` refreshes .benchfleet/outputs.json; or pass --api-key',
    };
    return { url, key, refused, urlFrom };
  }
  const problem = outputs
    ? `the API at ${url} (from ${urlFrom}) is not this folder's deployment (${trimUrl(outputs.ApiUrl)}), ` +
      "so the deployment's operator key is not sent there"
    : `the API at ${url} (from ${urlFrom}) needs its operator key for this`;
  const missing = new CliError(
    `${problem}: pass that API's key with --api-key KEY or set BENCHFLEET_API_KEY ` +
      '(`benchfleet local` prints its keys when it starts)' +
      (outputs
        ? `, or ${urlFrom === '--api-url' ? 'drop --api-url' : 'unset BENCHFLEET_API_URL'} to use the deployment's API`
        : ''),
  );
  return { url, key: () => Promise.reject(missing), urlFrom };
}

function isHttpUrl(text: string): boolean {
  try {
    const u = new URL(text);
    return (u.protocol === 'http:' || u.protocol === 'https:') && u.hostname !== '';
  } catch {
    return false;
  }
}

/** For a key that proved to be the runner key: which it was, and where the operator key is. */
function runnerKeyFix(
  givenBy: '--api-key' | 'BENCHFLEET_API_KEY',
  url: string,
  outputs: MetaOutputs | undefined,
): { key: string; fix: string } {
  const flag = givenBy === '--api-key';
  const key = flag
    ? 'the key given with --api-key'
    : 'the key in BENCHFLEET_API_KEY (set in your environment)';
  if (outputs && isDeploymentApi(url, outputs)) {
    // without a key given, the CLI reads the deployment's operator key itself
    const secret = `the deployment's operator key (in Secrets Manager, ${outputs.OperatorKeySecretArn})`;
    const fix = flag
      ? `drop --api-key to use ${secret}, or pass that key`
      : `\`unset BENCHFLEET_API_KEY\` to use ${secret}, or set it to that key`;
    return { key, fix };
  }
  const where =
    "`benchfleet local` prints it when it starts; a deployment's is in Secrets Manager, OperatorKeySecretArn in .benchfleet/outputs.json";
  const fix = flag
    ? `pass the operator key with --api-key instead (${where})`
    : `set BENCHFLEET_API_KEY to the operator key instead (${where})`;
  return { key, fix };
}

/**
 * Before `start` launches its paid fleets: a key given by --api-key or BENCHFLEET_API_KEY (say, one
 * `benchfleet local` printed) would get its 401 only once they are up. No API route checks a key
 * without side effects, so it is compared here with the deployment's operator key secret; a
 * different one is refused. Answers a note when the secret cannot be read (the key may be right).
 */
export async function checkGivenKey(
  target: ApiTarget,
  secretArn: string,
  runId: number,
  runnerSecretArn?: string,
): Promise<string | undefined> {
  if (!target.givenBy) return undefined;
  const given =
    target.givenBy === '--api-key'
      ? 'the operator key from --api-key'
      : 'the operator key in BENCHFLEET_API_KEY';
  let expected: string;
  try {
    expected = await readSecret(secretArn, 'operator key');
  } catch (err) {
    const e = err as Error;
    const why = e.cause instanceof Error ? e.cause.name : e.message;
    return `${given} was not checked against the deployment's: its secret ${secretArn} could not be read (${why}); going on with it`;
  }
  const key = await target.key();
  if (sameSecret(key, expected)) return undefined;
  const [what, fix] =
    target.givenBy === '--api-key'
      ? [given, "drop --api-key to use the deployment's key, or pass that key"]
      : [
          `${given} (set in your environment)`,
          "`unset BENCHFLEET_API_KEY` to use the deployment's key, or set it to that key",
        ];
  // the runner key, copied from the runners' side, is the likeliest mix-up: say so rather than guess
  const isRunnerKey =
    runnerSecretArn !== undefined &&
    (await readSecret(runnerSecretArn, 'runner key').then(
      (runnerKey) => sameSecret(key, runnerKey),
      () => false,
    ));
  const why = isRunnerKey
    ? `is this deployment's runner key (the one its VMs get, in ${runnerSecretArn}), which may not start runs`
    : `is not this deployment's operator key (its secret ${secretArn} holds another one; a key \`benchfleet local\` printed?)`;
  throw new CliError(`${what} ${why}. Run ${runId} was not started and no fleet was launched: ${fix}.`);
}

/**
 * A secret's value, asked of Secrets Manager in the region its ARN names: the only one that holds
 * it, whatever region AWS_REGION or the profile set (or when none is set).
 */
export async function readSecret(arn: string, what: string): Promise<string> {
  const region = arnRegion(arn);
  // loaded here, not at the top: every command loads this file, few of them read a secret
  const { GetSecretValueCommand, SecretsManagerClient } =
    require('@aws-sdk/client-secrets-manager') as typeof import('@aws-sdk/client-secrets-manager');
  const sm = new SecretsManagerClient(region ? { region } : {});
  try {
    const out = await sm.send(new GetSecretValueCommand({ SecretId: arn }));
    if (!out.SecretString) throw new CliError(`the ${what} secret ${arn} has no string value`);
    return out.SecretString;
  } catch (err) {
    if (err instanceof CliError) throw err;
    const e = err as Error;
    if (isAwsRegionMissing(err)) {
      throw new CliError(
        `cannot read the ${what} from Secrets Manager: no AWS region is set, and the secret's name ${arn} is not an ARN that gives one; ${AWS_REGION_HINT}, or pass --api-key`,
        { cause: err },
      );
    }
    // no credentials, or refused ones: describe() says which, and how to sign in
    if (AWS_CREDENTIAL_ERRORS.includes(e.name)) {
      throw new CliError(
        `cannot read the ${what} from Secrets Manager (${arn}): ${describe(err)} Or pass --api-key.`,
        {
          cause: err,
        },
      );
    }
    throw new CliError(
      `cannot read the ${what} from Secrets Manager (${e.name}: ${e.message}); sign in to the deployment's AWS account or pass --api-key`,
      { cause: err },
    );
  } finally {
    sm.destroy();
  }
}

/** What status and watch say to the API's own 404 for "no run yet": the two ways to start a run. */
export const NO_RUN_YET =
  'no run has been started on this API yet: start one with `benchfleet start --config FILE` (a deployment), or POST /run/start (a `benchfleet local --serve` API: see `benchfleet local --help`)';

/**
 * Whether a 404 is the API's own answer that no run was started yet (lambdas/core/runs.ts
 * `currentRun`), rather than one for a path it has no route for, or another server's.
 */
export const isNoRunYet = (err: unknown): boolean =>
  err instanceof ApiError &&
  err.status === 404 &&
  err.code === 'not_found' &&
  err.said.startsWith('no run has been started yet');

/** The code of the ApiError for the runner key, which reads a finished run without its archive link. */
export const RUNNER_KEY = 'runner_key';

export class ApiClient {
  /** The build the API named in its last answer (VERSION_HEADER); undefined before one, or none. */
  apiVersion: string | undefined;
  /**
   * The API's clock minus this machine's, in ms, from its last answer's Date header (to within a
   * second); undefined before an answer, or one without the header.
   */
  clockOffsetMs: number | undefined;

  constructor(private readonly target: ApiTarget) {}

  /** The API's build beside this checkout's, when it named one and they differ (version-skew.ts). */
  otherBuild(): OtherBuild | undefined {
    return otherBuild(this.apiVersion);
  }

  get url(): string {
    return this.target.url;
  }

  /**
   * GET /run; with `withKey` the answer includes `gzip_url` once the archive exists. A wrong key is
   * refused (401), but the runner key is a right one that gets no link: an archive without its link
   * says so, rather than show the run as if it had no archive.
   */
  async getRun(withKey = false): Promise<RunView> {
    const run = await this.call<RunView>('GET', '/run', undefined, withKey);
    if (withKey && archiveReady(run) && !run.gzip_url) {
      const why = `run ${run.run_id} has an archive; GET /run gives its link to the operator key only`;
      const runner = this.target.runnerKey;
      const message = runner
        ? `${runner.key} is the runner key of the API at ${this.target.url}, which gets no archive link (${why}): ${runner.fix}`
        : keyRefused(this.target, true, `${why}, and the key sent is the runner key`);
      throw new ApiError(401, RUNNER_KEY, message);
    }
    return run;
  }

  /**
   * What status and watch say to a 404 from GET /run: no run yet when the API says so; any other
   * 404 (a path it has no route for, another server's) means the URL is not a Benchfleet API's.
   */
  runNotFound(err: ApiError | NotJsonAnswer): CliError {
    if (isNoRunYet(err)) return new CliError(NO_RUN_YET);
    const { url, urlFrom } = this.target;
    const answered = `GET ${url}/run answered 404 (${err.said})`;
    const fix =
      urlFrom === '.benchfleet/outputs.json'
        ? `the ApiUrl in .benchfleet/outputs.json is not a Benchfleet API URL: \`benchfleet deploy\` records the deployment's, or pass --api-url with the URL \`benchfleet local\` printed`
        : `this is not a Benchfleet API URL${urlFrom ? ` (from ${urlFrom})` : ''}; use ApiUrl from .benchfleet/outputs.json or the URL \`benchfleet local\` printed`;
    return new CliError(`${answered}: ${fix}`, { cause: err });
  }

  async listTasks(): Promise<TaskView[]> {
    const tasks: TaskView[] = [];
    let cursor: string | null = null;
    do {
      const query: string = cursor ? `?limit=1000&cursor=${encodeURIComponent(cursor)}` : '?limit=1000';
      const page: TaskListResponse = await this.call<TaskListResponse>('GET', `/run/tasks${query}`);
      tasks.push(...page.tasks);
      cursor = page.next_cursor;
    } while (cursor);
    return tasks;
  }

  startRun(config: RunConfig & { run_id: number }): Promise<StartRunResponse> {
    return this.call<StartRunResponse>('POST', '/run/start', config, true);
  }

  /** POST /run/stop; with `runId`, the API stops nothing unless that run is the current one. */
  /** POST /run/assemble: the current run's archive built again, after its assembly failed. */
  assembleRun(): Promise<{ message: string; run_id: number }> {
    return this.call('POST', '/run/assemble', {}, true);
  }

  stopRun(runId?: number): Promise<{ message: string; run_id?: number }> {
    return this.call('POST', '/run/stop', runId === undefined ? {} : { run_id: runId }, true);
  }

  private async call<T>(method: string, path: string, body?: unknown, withKey = false): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (withKey) headers.authorization = `Bearer ${await this.target.key()}`;
    let res: Response;
    try {
      res = await fetch(this.target.url + path, {
        method,
        headers,
        ...(body !== undefined && { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(30_000),
      });
    } catch (err) {
      const check = isLoopbackUrl(this.target.url)
        ? 'that `benchfleet local` is still serving it (it stops with its run unless --keep or --serve)'
        : 'that the meta stack is deployed';
      throw new CliError(
        `cannot reach the API at ${this.target.url} (${unreachable(err, this.target.url)}); check the URL or ${check}`,
        { cause: err },
      );
    }
    this.apiVersion = res.headers.get(VERSION_HEADER) ?? undefined;
    const said = Date.parse(res.headers.get('date') ?? '');
    // the header has whole seconds: the API's clock was somewhere in the second it names
    if (Number.isFinite(said)) this.clockOffsetMs = said + 500 - Date.now();
    const text = await res.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      throw new NotJsonAnswer(
        res.status,
        text.replace(/\s+/g, ' ').trim().slice(0, 200),
        `${method} ${path} answered ${res.status} with a body that is not JSON: ${text.slice(0, 200)}`,
      );
    }
    if (!res.ok) {
      const err = ErrorBody.safeParse(json);
      const detail = err.success ? `${err.data.error}: ${err.data.message}` : text.slice(0, 200);
      const code = err.success ? err.data.error : 'unknown';
      // the answer's own words: the API's message, API Gateway's {"message"}, else the body
      const own = (json as { message?: unknown } | undefined)?.message;
      const said = err.success ? err.data.message : typeof own === 'string' ? own : text.slice(0, 200);
      const answer = `${res.status} ${detail}`;
      if (res.status === 401 || res.status === 403) {
        throw new ApiError(res.status, code, keyRefused(this.target, withKey, answer), said);
      }
      // the CLI's own request refused for a field the API does not know: an API older than the CLI
      const builds = this.otherBuild();
      const skew =
        res.status === 400 && /unknown field/.test(said)
          ? `. The API at ${this.target.url} is likely older than this CLI${builds ? ` (${buildsWords(builds)})` : ''}: deploy this checkout (\`benchfleet deploy\`), or use the CLI of the checkout that deployed it`
          : '';
      throw new ApiError(res.status, code, `${method} ${path} answered ${answer}${skew}`, said);
    }
    return json as T;
  }
}

const portOf = (url: string): string => {
  try {
    const u = new URL(url);
    return u.port || (u.protocol === 'https:' ? '443' : '80');
  } catch {
    return '?';
  }
};

/** Node's codes for why a connection failed, in words (TLS failures are named by their own codes). */
const NET_ERRORS: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  ENOTFOUND: 'no such host',
  EAI_AGAIN: 'the DNS look-up failed',
  ETIMEDOUT: 'the connection timed out',
  UND_ERR_CONNECT_TIMEOUT: 'the connection timed out',
  UND_ERR_SOCKET: 'the connection was closed',
  EHOSTUNREACH: 'the host is unreachable',
  ENETUNREACH: 'the network is unreachable',
};

/**
 * Why fetch failed: its own message is "fetch failed", the cause (undici's) says why, with a code
 * such as ECONNREFUSED or a TLS one, or only words ("bad port", a port fetch will not use).
 */
function unreachable(err: unknown, url: string): string {
  const e = err as Error;
  if (e?.name === 'TimeoutError') return 'no answer within 30 s';
  const cause = e?.cause as (Error & { code?: string; errors?: Error[] }) | undefined;
  // not `instanceof Error`: undici's errors may come from another realm (jest's, say)
  if (typeof cause?.message !== 'string') return e?.message ?? String(err);
  // an AggregateError (each address of a name tried) may carry no message of its own
  const message = cause.message || (cause.errors ?? []).map((x) => x.message).join('; ');
  const code = cause.code;
  if (!code) {
    // the ports browsers block (fetch's "bad ports": 1, 6000, ...), which undici blocks too
    if (message === 'bad port')
      return `bad port: fetch will not connect to port ${portOf(url)}, pick another`;
    return message || e.message;
  }
  // "connect ECONNREFUSED 127.0.0.1:1999" -> "ECONNREFUSED 127.0.0.1:1999"; of OpenSSL's
  // "80EC...:error:0A00010B:SSL routines:ssl3_get_record:wrong version number:../deps/...", its reason
  const openssl = /:error:[0-9A-F]+:[^:]*:[^:]*:([^:]+)/.exec(message)?.[1];
  const at = message.indexOf(code);
  const detail = at >= 0 ? message.slice(at) : `${code} ${openssl ?? message}`.trim();
  const words =
    NET_ERRORS[code] ??
    (/CERT|TLS|SSL|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)/.test(code) ? 'TLS error' : undefined);
  return words ? `${words}: ${detail}` : detail;
}

/** Where the CLI takes the operator key from, for a person whose key was refused. */
const KEY_SOURCES =
  "Keys are taken from --api-key, else BENCHFLEET_API_KEY, else (for this folder's deployment, " +
  '.benchfleet/outputs.json) its Secrets Manager secret; `benchfleet local` prints its keys when it starts.';

/** One line for a 401 or 403: which API, which key (never a flag the user did not pass), what to do. */
function keyRefused(target: ApiTarget, sentKey: boolean, answer: string): string {
  if (!sentKey) return `the API at ${target.url} wants the operator key for this (${answer}). ${KEY_SOURCES}`;
  const { key, fix } = target.refused ?? { key: 'the operator key', fix: "pass that API's operator key" };
  return `the API at ${target.url} refused ${key} (${answer}): ${fix}. ${KEY_SOURCES}`;
}

/** Whether GET /run would carry `gzip_url` for the operator key: the archive of an ended run exists. */
const archiveReady = (run: RunView): boolean =>
  run.archive_key != null && (run.status === 'complete' || run.status === 'cancelled');

export class ApiError extends CliError {
  override name = 'ApiError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** The answer's own words (the API's message), for a caller that says them its own way. */
    readonly said = '',
  ) {
    super(message);
  }
}

/** An answer that is not JSON (not the API's: another server's page, a proxy's error). */
export class NotJsonAnswer extends CliError {
  override name = 'NotJsonAnswer';
  constructor(
    readonly status: number,
    readonly said: string,
    message: string,
  ) {
    super(message);
  }
}
