// `benchfleet status --json | head -c 100`: the reader goes away long before the answer is written.
// The command ends quietly with its own exit code, not with an EPIPE stack trace.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import type { LocalStack } from '../../lambdas/adapters/local/stack';
import { client, startTestStack } from '../helpers/api';
import { ROOT } from '../helpers/cli';

let stack: LocalStack;
beforeAll(async () => {
  stack = await startTestStack();
  // about 1 MB of --json: far more than a pipe holds, so the writes outlive the reader
  const started = await client(stack.apiUrl).start({
    runs_per_instance_type: 100,
    local: ['a', 'b', 'c', 'd', 'e'],
  });
  expect(started.status).toBe(201);
});
afterAll(() => stack.stop());

it('ends quietly with exit code 0 when the reader of its output closes early', async () => {
  const child = spawn(process.execPath, [join(ROOT, 'bin', 'benchfleet.js'), 'status', '--json'], {
    cwd: ROOT,
    env: { ...process.env, BENCHFLEET_API_URL: stack.apiUrl },
  });
  let stderr = '';
  child.stderr.on('data', (d) => {
    stderr += d;
  });
  let first = '';
  child.stdout.once('data', (d: Buffer) => {
    first = d.toString().slice(0, 100);
    child.stdout.destroy(); // as `head -c 100` exits
  });
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  expect(first).toContain('"run"');
  expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
});
