// A 10,000-task run: created through the API, counted from one item, listed in pages.
import type { LocalStack } from '../../lambdas/adapters/local/stack';
import { client, OPERATOR, startTestStack } from '../helpers/api';

let stack: LocalStack;
beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(() => stack.stop());

it('creates a 10,000-task run and lists it in pages of 1,000', async () => {
  const api = client(stack.apiUrl);
  const types = Array.from({ length: 100 }, (_, i) => `type-${i}`);
  const started = await api.call<{ tasks_created: number; run_id: number }>('POST', '/run/start', {
    key: OPERATOR,
    body: { ruby_version: '3.4.7', runs_per_instance_type: 100, local: types },
  });
  expect(started.status).toBe(201);
  expect(started.body.tasks_created).toBe(10_000);
  const run = await api.run();
  expect(run.body.tasks).toMatchObject({ total: 10_000, pending: 10_000 });
  const ids = new Set<number>();
  let cursor: string | null = null;
  let pages = 0;
  do {
    const page: { status: number; body: { tasks: Array<{ id: number }>; next_cursor: string | null } } =
      await api.call('GET', `/run/tasks?limit=1000${cursor ? `&cursor=${cursor}` : ''}`);
    expect(page.status).toBe(200);
    expect(page.body.tasks.length).toBeLessThanOrEqual(1000);
    for (const t of page.body.tasks) ids.add(t.id);
    cursor = page.body.next_cursor;
    pages++;
  } while (cursor);
  expect(ids.size).toBe(10_000);
  expect(pages).toBeGreaterThanOrEqual(10);
}, 300_000);
