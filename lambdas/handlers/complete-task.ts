import type { Deps } from '../core/ports';
import { completeTask } from '../core/tasks';
import { CompleteRequest } from '../shared/contract';
import { onAws } from '../shared/deps';
import { httpRoute, pathId } from '../shared/http';

export const makeHandler = (deps: Deps) =>
  httpRoute({ access: 'runner', keys: deps.keys, body: CompleteRequest }, async ({ body, path }) => ({
    status: 200,
    body: await completeTask(deps, pathId(path, 'id'), body),
  }));

export const handler = onAws(makeHandler);
