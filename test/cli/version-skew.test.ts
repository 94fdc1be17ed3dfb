// The API names its build in every answer (x-benchfleet-version), and the CLI compares it with its
// checkout's: a deployment from another checkout (a teammate's deploy, a `git pull` since) is said
// by `status` and in the errors that skew causes. A deployed Lambda bundle carries the commit it was
// built from; local mode runs the checkout's sources, whose answers name no commit and are never
// called another build.
import { join } from 'node:path';
import { build } from 'esbuild';
import { ApiClient } from '../../cli/lib/api';
import { checkoutVersion, otherBuild } from '../../cli/lib/version-skew';
import { type LocalStack, startLocalStack } from '../../lambdas/adapters/local/stack';
import { VERSION_HEADER } from '../../lambdas/shared/build-info';
import { lambdaBuildOptions } from '../../lib/bundling';
import { REPO_ROOT } from '../../lib/paths';
import { sourceCommit } from '../helpers/source-commit';
import { tempDir } from '../helpers/temp-dir';
import { VersionProxy } from '../helpers/version-proxy';
import { runCli } from './helpers';

const { version } = require('../../package.json') as { version: string };

let stack: LocalStack;
let proxy: VersionProxy;

beforeAll(async () => {
  stack = await startLocalStack({ reaperIntervalS: 3600 });
  const started = await fetch(`${stack.apiUrl}/run/start`, {
    method: 'POST',
    headers: { authorization: `Bearer ${stack.operatorKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ ruby_version: '3.4.7', runs_per_instance_type: 1, local: ['v-a'] }),
  });
  expect(started.status).toBe(201);
  proxy = await new VersionProxy(stack.apiUrl).start();
});
afterAll(async () => {
  await proxy.stop();
  await stack?.stop();
});

it('local mode names the package version in every answer, errors included, and no commit', async () => {
  for (const [path, status] of [
    ['/run', 200],
    ['/run/tasks', 200],
    ['/no/such/route', 404],
  ] as const) {
    const res = await fetch(stack.apiUrl + path);
    expect(res.status).toBe(status);
    expect(res.headers.get(VERSION_HEADER)).toBe(version);
  }
  expect(otherBuild(version)).toBeUndefined();
});

it('a Lambda bundle names the commit it was built from', async () => {
  const outfile = join(tempDir('bf-version-'), 'not-found.js');
  await build({
    ...lambdaBuildOptions('bundled'),
    entryPoints: [join(REPO_ROOT, 'lambdas', 'handlers', 'not-found.ts')],
    outfile,
  });
  const { handler } = require(outfile) as {
    handler(e: unknown): Promise<{ statusCode: number; headers: Record<string, string> }>;
  };
  const answer = await handler({ requestContext: { http: { method: 'GET' } }, rawPath: '/nope' });
  expect(answer.statusCode).toBe(404);
  expect(answer.headers[VERSION_HEADER]).toBe(`${version}+${sourceCommit()}`);
  // which is this checkout's build: no skew
  expect(checkoutVersion()).toBe(`${version}+${sourceCommit()}`);
  expect(otherBuild(answer.headers[VERSION_HEADER])).toBeUndefined();
});

it('status says so when the API was deployed from another build, and names both', async () => {
  proxy.version = `${version}+0123456789ab`;
  const r = await runCli(['status', '--api-url', proxy.url]);
  expect(r.code).toBe(0);
  expect(r.stderr).toContain(
    `note: the API at ${proxy.url} was deployed from another build of Benchfleet: it runs Benchfleet ${version}+0123456789ab, and this checkout is ${checkoutVersion()}.`,
  );
  // the same build (with or without changes beside its commit), or an API that names none
  // (deployed before it sent its build): nothing said
  const sameCommit = checkoutVersion().replace(/-dirty$/, '');
  for (const same of [checkoutVersion(), sameCommit, `${sameCommit}-dirty`, undefined]) {
    proxy.version = same;
    const quiet = await runCli(['status', '--api-url', proxy.url]);
    expect(quiet.code).toBe(0);
    expect(quiet.stderr).not.toContain('another build');
  }
});

it("an unknown field's refusal names both builds", async () => {
  proxy.version = `${version}+0123456789ab`;
  const api = new ApiClient({ url: proxy.url, key: async () => stack.operatorKey });
  // a field this API does not know, as an older API would refuse a newer CLI's
  const err = await (
    api as unknown as { call(m: string, p: string, b: unknown, k: boolean): Promise<unknown> }
  )
    .call('POST', '/run/stop', { run_id: 1, newer_field: true }, true)
    .catch((e: Error) => e);
  expect(String(err)).toContain(
    `is likely older than this CLI (it runs Benchfleet ${version}+0123456789ab, and this checkout is ${checkoutVersion()})`,
  );
});
