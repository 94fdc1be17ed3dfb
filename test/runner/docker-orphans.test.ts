// Containers a crashed runner left behind (a kill -9 or a power loss skips the executor's cleanup)
// keep running ruby-bench on the CPUs the new slots are about to use. Before its first claim the
// runner force-removes the task containers of this host, and says how many and why; containers of
// another runner sharing the engine (local mode: one runner per instance type) are left alone.
import { startRunner } from '../../runner/agent';
import { FakeApi } from './fake-api';
import { FakeDocker } from './fake-docker';
import { testRunner } from './helpers';

let api: FakeApi;
let engine: FakeDocker;
beforeEach(async () => {
  api = await new FakeApi({ tasks: 1 }).start();
  engine = await new FakeDocker().start();
});
afterEach(async () => {
  await api.stop();
  await engine.stop();
});

it('removes the task containers an earlier runner on this host left, before the first claim', async () => {
  const ours = engine.leave({ 'benchfleet.task': '41', 'benchfleet.host': 'testhost' });
  const older = engine.leave({ 'benchfleet.task': '42' }); // from a runner that did not label its host
  const theirs = engine.leave({ 'benchfleet.task': '43', 'benchfleet.host': 'local-other.type' });
  const unrelated = engine.leave({ 'com.example': 'x' });
  const apiCallsAtRemoval: number[] = [];
  engine.onCall = (call) => {
    if (call === `DELETE /containers/${ours}` || call === `DELETE /containers/${older}`)
      apiCallsAtRemoval.push(api.calls.length);
  };
  const r = testRunner(api.url, { executor: 'docker', dockerHost: engine.host, slots: 1 });
  const res = await startRunner(r.input);

  expect(apiCallsAtRemoval).toEqual([0, 0]);
  expect([...engine.containers.keys()].sort()).toEqual([theirs, unrelated].sort());
  const log = r.lines.join('\n');
  expect(log).toMatch(
    /removed 2 orphaned task container\(s\) labelled benchfleet\.task, left by an earlier runner/,
  );
  expect(log).toContain('task 41');
  // the task itself ran in a container labelled with this host, removed when it ended
  expect(res).toMatchObject({ tasksCompleted: 1, tasksFailed: 0 });
  expect(engine.created).toEqual([expect.objectContaining({ 'benchfleet.host': 'testhost' })]);
});

it('says nothing when there is nothing to remove', async () => {
  const r = testRunner(api.url, { executor: 'docker', dockerHost: engine.host, slots: 1 });
  const res = await startRunner(r.input);
  expect(res.tasksCompleted).toBe(1);
  expect(r.lines.join('\n')).not.toMatch(/orphaned/);
  expect(engine.calls.filter((c) => c.startsWith('GET /containers/json'))).toHaveLength(1);
});
