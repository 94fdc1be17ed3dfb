import type { Deps } from '../core/ports';
import { failTask } from '../core/tasks';
import { FailRequest } from '../shared/contract';
import { onAws } from '../shared/deps';
import { httpRoute, pathId } from '../shared/http';

export const makeHandler = (deps: Deps) =>
  httpRoute({ access: 'runner', keys: deps.keys, body: FailRequest }, async ({ body, path }) => ({
    status: 200,
    body: await failTask(deps, pathId(path, 'id'), body),
  }));

export const handler = onAws(makeHandler);
