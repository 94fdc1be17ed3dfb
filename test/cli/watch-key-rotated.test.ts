// A key accepted earlier in a watch and refused later was rotated mid-run: `start` (which watches
// with the deployment's key) must not give up on a run that goes on, leaving its fleets up. The
// watch goes on without the key and says why; a key refused from the first poll stays an error.

import { ApiClient, ApiError } from '../../cli/lib/api';
import { watchRun } from '../../cli/lib/progress';
import { type LocalStack, startLocalStack } from '../../lambdas/adapters/local/stack';

let stack: LocalStack;
let stderr: string;
let write: jest.SpyInstance;

beforeEach(async () => {
  stack = await startLocalStack({ operatorKey: 'rotating-operator', runnerKey: 'rotating-runner' });
  process.env.BENCHFLEET_POLL_MS = '20';
  stderr = '';
  write = jest.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stderr += String(chunk);
    return true;
  });
});
afterEach(async () => {
  write.mockRestore();
  delete process.env.BENCHFLEET_POLL_MS;
  await stack.stop();
});

async function startRun(): Promise<number> {
  const res = await fetch(`${stack.apiUrl}/run/start`, {
    method: 'POST',
    headers: { authorization: 'Bearer rotating-operator', 'content-type': 'application/json' },
    body: JSON.stringify({ ruby_version: '3.4.7', runs_per_instance_type: 1, local: ['a'] }),
  });
  return ((await res.json()) as { run_id: number }).run_id;
}

it('a key refused after it was accepted: watches on without it, to the end of the run', async () => {
  const runId = await startRun();
  let polls = 0;
  const api = new ApiClient({
    url: stack.apiUrl,
    key: async () => {
      polls += 1;
      if (polls === 3) {
        // rotated now; the run then ends by a stop made with the new key
        void fetch(`${stack.apiUrl}/run/stop`, {
          method: 'POST',
          headers: { authorization: 'Bearer rotating-operator' },
        });
      }
      return polls < 3 ? 'rotating-operator' : 'an-old-key';
    },
  });
  const run = await watchRun(api, { withKey: true, runId });
  expect(run).toMatchObject({ run_id: runId, status: 'cancelled', gzip_url: null });
  expect(stderr).toContain(
    'It was accepted earlier in this run, so it was probably rotated: watching on without it; the end will have no archive link',
  );
});

it('a key refused from the first poll is an error at once', async () => {
  const runId = await startRun();
  const api = new ApiClient({ url: stack.apiUrl, key: async () => 'never-right' });
  await expect(watchRun(api, { withKey: true, runId })).rejects.toBeInstanceOf(ApiError);
  expect(stderr).not.toContain('probably rotated');
});
