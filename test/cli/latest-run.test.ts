// latestRun, which start, teardown and nuke ask before they touch a deployment's fleets: only the
// API's own "no run yet" means no run; a 404 from anything else leaves the runs unknown.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { latestRun } from '../../cli/lib/latest-run';
import { type LocalStack, startLocalStack } from '../../lambdas/adapters/local/stack';

let stack: LocalStack;
let foreign: Server;
let foreignUrl: string;

beforeAll(async () => {
  stack = await startLocalStack({ reaperIntervalS: 3600 });
  // a server that is not a Benchfleet API: API Gateway's answer to a wrong stage, say
  foreign = createServer((_req, res) => {
    res.writeHead(404, { 'content-type': 'application/json' });
    res.end('{"message":"Not Found"}');
  });
  await new Promise<void>((r) => foreign.listen(0, '127.0.0.1', r));
  foreignUrl = `http://127.0.0.1:${(foreign.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await stack?.stop();
  await new Promise((r) => foreign.close(r));
});

it("answers no run for the API's own 404 before the first run, and the run once there is one", async () => {
  // with the API's clock beside it, from its Date header (this machine's, here: within a second or so)
  const none = await latestRun(stack.apiUrl);
  expect(none).toEqual({ run: undefined, clockOffsetMs: expect.any(Number) });
  expect(Math.abs((none as { clockOffsetMs: number }).clockOffsetMs)).toBeLessThan(2000);
  const res = await fetch(`${stack.apiUrl}/run/start`, {
    method: 'POST',
    headers: { authorization: `Bearer ${stack.operatorKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ ruby_version: '3.4.7', runs_per_instance_type: 1, local: ['l-a'] }),
  });
  expect(res.status).toBe(201);
  const { run_id } = (await res.json()) as { run_id: number };
  const latest = await latestRun(stack.apiUrl);
  expect('run' in latest && latest.run?.run_id).toBe(run_id);
});

it("leaves the runs unknown for another server's 404, rather than call it a deployment with no run", async () => {
  const latest = await latestRun(foreignUrl);
  expect('unknown' in latest).toBe(true);
  expect(String((latest as { unknown: unknown }).unknown)).toContain('404');
});
