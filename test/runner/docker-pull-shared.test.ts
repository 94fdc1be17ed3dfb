// The image pull of a host's first tasks: slots that start together share one pull of the image
// (one registry pull per host, not one per slot: Docker Hub refuses an address more than a few an
// hour), and a pull that fails (said in the pull's stream, after the engine's 200) fails every task
// that waited for it as provision_failed, saying why.
import { startRunner } from '../../runner/agent';
import { FakeApi } from './fake-api';
import { FakeDocker } from './fake-docker';
import { testRunner } from './helpers';

let api: FakeApi | undefined;
let engine: FakeDocker | undefined;
afterEach(async () => {
  await api?.stop();
  await engine?.stop();
  api = undefined;
  engine = undefined;
});

const IMAGE = 'ruby:test';
const pulls = (e: FakeDocker): number => e.calls.filter((c) => c === 'POST /images/create').length;

it('pulls an absent image once for the slots that start together, and each of their tasks runs', async () => {
  api = await new FakeApi({ tasks: 4, benchmarks: ['fib'] }).start();
  engine = await new FakeDocker().start();
  engine.absentImages = new Set([IMAGE]);
  const r = testRunner(api.url, { executor: 'docker', dockerHost: engine.host, image: IMAGE, slots: 4 });
  const res = await startRunner(r.input);
  expect(res.tasksCompleted).toBe(4);
  expect(pulls(engine)).toBe(1);
  // each of the four looked for the image, and found it absent while the one pull was under way
  expect(engine.calls.filter((c) => c === `GET /images/${IMAGE}/json`).length).toBeGreaterThanOrEqual(4);
});

it('a pull the engine says failed in its stream fails every task that waited for it as provision_failed, saying why', async () => {
  api = await new FakeApi({ tasks: 2, benchmarks: ['fib'] }).start();
  engine = await new FakeDocker().start();
  engine.absentImages = new Set([IMAGE]);
  engine.pullError = 'toomanyrequests: You have reached your unauthenticated pull rate limit';
  const r = testRunner(api.url, { executor: 'docker', dockerHost: engine.host, image: IMAGE, slots: 2 });
  const res = await startRunner(r.input);
  expect(res.tasksFailed).toBe(2);
  for (const t of api.tasks) {
    expect(t.fail?.error_type).toBe('provision_failed');
    expect(t.fail?.error_message).toContain(`cannot pull ${IMAGE}: `);
    expect(t.fail?.error_message).toContain('toomanyrequests');
  }
  expect(pulls(engine)).toBe(1);
});
