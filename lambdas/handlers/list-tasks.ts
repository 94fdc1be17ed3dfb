import type { Deps } from '../core/ports';
import { listTaskViews } from '../core/runs';
import { TaskListQuery } from '../shared/contract';
import { onAws } from '../shared/deps';
import { httpRoute } from '../shared/http';

export const makeHandler = (deps: Deps) =>
  httpRoute({ access: 'public', keys: deps.keys, query: TaskListQuery }, async ({ query }) => ({
    status: 200,
    body: await listTaskViews(deps, query),
  }));

export const handler = onAws(makeHandler);
