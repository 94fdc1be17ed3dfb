// The CLI's client of the run API: GET /run, GET /run/tasks, POST /run/start and /run/stop, with
// the operator key from --api-key, BENCHFLEET_API_KEY, or the deployment's Secrets Manager secret.
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import {
  ErrorBody,
  type RunConfig,
  type RunView,
  type StartRunResponse,
  type TaskListResponse,
  type TaskView,
} from '../../lambdas/shared/contract';
import { CliError } from './errors';
import { readOutputs } from './state';

export interface ApiFlags {
  apiUrl?: string;
  apiKey?: string;
}

export interface ApiTarget {
  url: string;
  /** Lazily resolved: `status` and `watch` work without a key (reads are public). */
  key: () => Promise<string>;
}

/** Where the API is and how to get its operator key, from flags, env, then `.benchfleet/outputs.json`. */
export function apiTarget(flags: ApiFlags): ApiTarget {
  const outputs = readOutputs();
  const url = flags.apiUrl ?? process.env.BENCHFLEET_API_URL ?? outputs?.ApiUrl;
  if (!url) {
    throw new CliError(
      'no API to talk to: run `benchfleet deploy` first (it records the API URL in .benchfleet/outputs.json), or pass --api-url',
    );
  }
  let cached: Promise<string> | undefined;
  const key = (): Promise<string> => {
    const given = flags.apiKey ?? process.env.BENCHFLEET_API_KEY;
    if (given) return Promise.resolve(given);
    if (!outputs) {
      return Promise.reject(
        new CliError(
          'this needs the operator key: pass --api-key or set BENCHFLEET_API_KEY (or deploy from this folder)',
        ),
      );
    }
    cached ??= readSecret(outputs.OperatorKeySecretArn, 'operator key');
    return cached;
  };
  return { url: url.replace(/\/+$/, ''), key };
}

export async function readSecret(arn: string, what: string): Promise<string> {
  const sm = new SecretsManagerClient({});
  try {
    const out = await sm.send(new GetSecretValueCommand({ SecretId: arn }));
    if (!out.SecretString) throw new CliError(`the ${what} secret ${arn} has no string value`);
    return out.SecretString;
  } catch (err) {
    if (err instanceof CliError) throw err;
    const e = err as Error;
    throw new CliError(
      `cannot read the ${what} from Secrets Manager (${e.name}: ${e.message}); sign in to the deployment's AWS account or pass --api-key`,
      { cause: err },
    );
  } finally {
    sm.destroy();
  }
}

export class ApiClient {
  constructor(private readonly target: ApiTarget) {}

  get url(): string {
    return this.target.url;
  }

  /** GET /run; with `withKey` the answer includes `gzip_url` once the archive exists. */
  getRun(withKey = false): Promise<RunView> {
    return this.call<RunView>('GET', '/run', undefined, withKey);
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

  stopRun(): Promise<{ message: string; run_id?: number }> {
    return this.call('POST', '/run/stop', {}, true);
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
      throw new CliError(
        `cannot reach the API at ${this.target.url} (${(err as Error).message}); check the URL or that the meta stack is deployed`,
        { cause: err },
      );
    }
    const text = await res.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      throw new CliError(
        `${method} ${path} answered ${res.status} with a body that is not JSON: ${text.slice(0, 200)}`,
      );
    }
    if (!res.ok) {
      const err = ErrorBody.safeParse(json);
      const detail = err.success ? `${err.data.error}: ${err.data.message}` : text.slice(0, 200);
      const hint =
        res.status === 401 ? ' (the operator key is wrong: check --api-key / BENCHFLEET_API_KEY)' : '';
      throw new ApiError(
        res.status,
        err.success ? err.data.error : 'unknown',
        `${method} ${path} answered ${res.status} ${detail}${hint}`,
      );
    }
    return json as T;
  }
}

export class ApiError extends CliError {
  override name = 'ApiError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}
