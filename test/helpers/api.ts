// A local stack for tests and a tiny HTTP client that speaks the contract.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type LocalStack, type LocalStackOptions, startLocalStack } from '../../lambdas/adapters/local/stack';
import type { ClaimResponse, RunConfig } from '../../lambdas/shared/contract';

export const OPERATOR = 'test-operator-key';
export const RUNNER = 'test-runner-key';

export function startTestStack(opts: LocalStackOptions = {}): Promise<LocalStack> {
  return startLocalStack({ operatorKey: OPERATOR, runnerKey: RUNNER, reaperIntervalS: 3600, ...opts });
}

export interface Answer<T = Record<string, unknown>> {
  status: number;
  body: T;
}

export function client(apiUrl: string) {
  async function call<T = Record<string, unknown>>(
    method: string,
    path: string,
    opts: { key?: string | null; body?: unknown; raw?: string; headers?: Record<string, string> } = {},
  ): Promise<Answer<T>> {
    const headers: Record<string, string> = { 'content-type': 'application/json', ...opts.headers };
    if (opts.key) headers.authorization = `Bearer ${opts.key}`;
    const res = await fetch(apiUrl + path, {
      method,
      headers,
      body: opts.raw ?? (opts.body === undefined ? undefined : JSON.stringify(opts.body)),
    });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : null) as T };
  }
  return {
    call,
    start: (cfg: Partial<RunConfig> & Record<string, unknown>) =>
      call<{ run_id: number; tasks_created: number; tasks: Array<{ id: number }> }>('POST', '/run/start', {
        key: OPERATOR,
        body: { ruby_version: '3.4.7', runs_per_instance_type: 2, local: ['a', 'b'], ...cfg },
      }),
    claim: (runId: number, instanceType: string, runnerId: string, provider = 'local') =>
      call<ClaimResponse>('POST', `/runs/${runId}/tasks/claim`, {
        key: RUNNER,
        body: { provider, instance_type: instanceType, runner_id: runnerId },
      }),
    heartbeat: (id: number, runnerId: string, extra: Record<string, unknown> = {}) =>
      call<{ action: string }>('POST', `/tasks/${id}/heartbeat`, {
        key: RUNNER,
        body: { runner_id: runnerId, status: 'running', ...extra },
      }),
    complete: (id: number, runnerId: string, extra: Record<string, unknown> = {}) =>
      call('POST', `/tasks/${id}/complete`, { key: RUNNER, body: { runner_id: runnerId, ...extra } }),
    fail: (
      id: number,
      runnerId: string,
      errorType = 'benchmark_failed',
      extra: Record<string, unknown> = {},
    ) =>
      call('POST', `/tasks/${id}/fail`, {
        key: RUNNER,
        body: { runner_id: runnerId, error_type: errorType, error_message: 'it broke', ...extra },
      }),
    run: (key: string | null = null) =>
      call<Record<string, unknown> & { status: string; tasks: Record<string, number> }>('GET', '/run', {
        key,
      }),
  };
}

let tarball: Buffer | undefined;
/** A small result.tar.gz as the runner makes it (`tar -czf x -C dir .`). */
export function resultTarball(): Buffer {
  if (!tarball) {
    const dir = mkdtempSync(join(tmpdir(), 'bf-result-'));
    try {
      writeFileSync(join(dir, 'output.txt'), 'synthetic output\n');
      execFileSync('tar', ['-czf', join(dir, 'result.tar.gz'), '-C', dir, 'output.txt']);
      tarball = readFileSync(join(dir, 'result.tar.gz'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  return tarball;
}

export async function upload(url: string): Promise<void> {
  const res = await fetch(url, { method: 'PUT', body: new Uint8Array(resultTarball()) });
  if (res.status !== 200) throw new Error(`upload failed: ${res.status}`);
}

export async function waitFor<T>(
  what: string,
  fn: () => Promise<T | undefined | false>,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
