// A run status this CLI does not know comes from an API newer than its checkout. `watch` used to
// poll forever on one (it was neither final nor an error); now it stops at once and says why, and
// the guards of start, teardown and nuke take such a run as at work rather than tear it down. The
// API is a real local one, behind a proxy that renames the run's status as a newer API might.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { atWork, latestRun } from '../../cli/lib/latest-run';
import { type LocalStack, startLocalStack } from '../../lambdas/adapters/local/stack';
import { runCli } from './helpers';

let stack: LocalStack;
let proxy: Server;
let proxyUrl: string;
/** The status GET /run answers through the proxy from its `renameAfter`-th answer on. */
let renamed = 'paused';
let renameAfter = 1;
let answers = 0;

beforeAll(async () => {
  stack = await startLocalStack({ reaperIntervalS: 3600 });
  proxy = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const upstream = await fetch(stack.apiUrl + (req.url ?? '/'), {
      method: req.method ?? 'GET',
      headers: req.headers.authorization ? { authorization: req.headers.authorization } : {},
      ...(chunks.length ? { body: Buffer.concat(chunks) } : {}),
    });
    let text = await upstream.text();
    if (req.url?.split('?')[0] === '/run' && upstream.status === 200) {
      answers += 1;
      if (answers >= renameAfter) {
        const run = JSON.parse(text) as { status: string };
        text = JSON.stringify({ ...run, status: renamed });
      }
    }
    res.writeHead(upstream.status, { 'content-type': 'application/json' });
    res.end(text);
  });
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
  proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
  const started = await fetch(`${stack.apiUrl}/run/start`, {
    method: 'POST',
    headers: { authorization: `Bearer ${stack.operatorKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ ruby_version: '3.4.7', runs_per_instance_type: 1, local: ['u-a'] }),
  });
  expect(started.status).toBe(201);
  process.env.BENCHFLEET_POLL_MS = '20';
});

afterAll(async () => {
  delete process.env.BENCHFLEET_POLL_MS;
  await new Promise((r) => proxy.close(r));
  await stack?.stop();
});

beforeEach(() => {
  answers = 0;
});

it('watch stops on a status it does not know, says the API is likely newer, and changes nothing', async () => {
  renamed = 'paused';
  renameAfter = 3; // two polls see the run running, the third a status from a newer API
  const out = await runCli(['watch', '--api-url', proxyUrl]);
  expect(out.code).not.toBe(0);
  expect(out.stderr).toContain(
    `has the status "paused", which this CLI does not know: the API at ${proxyUrl} is likely newer than this checkout. Nothing was changed; update the checkout (\`git pull && npm ci\`), then \`benchfleet watch\` follows the run again`,
  );
  expect(answers).toBe(3);
  // the run itself goes on
  const run = (await (await fetch(`${stack.apiUrl}/run`)).json()) as { status: string };
  expect(run.status).toBe('running');
});

it('the guards of start, teardown and nuke take a run in an unknown status as at work', async () => {
  renameAfter = 1;
  renamed = 'draining';
  const latest = await latestRun(proxyUrl);
  const run = 'run' in latest ? latest.run : undefined;
  expect(run?.status).toBe('draining');
  expect(atWork(run)).toBe(true);
  // the statuses it knows keep their meaning
  for (const [status, at] of [
    ['running', true],
    ['assembling', true],
    ['complete', false],
    ['cancelled', false],
    ['assembly_failed', false],
  ] as const) {
    renamed = status;
    const known = await latestRun(proxyUrl);
    expect(atWork('run' in known ? known.run : undefined)).toBe(at);
  }
  expect(atWork(undefined)).toBe(false);
});
