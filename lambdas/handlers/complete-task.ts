import type { Deps } from '../core/ports';
import { completeTask } from '../core/tasks';
import { CompleteRequest } from '../shared/contract';
import { onAws } from '../shared/deps';
import { httpRoute, pathId } from '../shared/http';
import { countMetric } from '../shared/metrics';

export const makeHandler = (deps: Deps) =>
  httpRoute({ access: 'runner', keys: deps.keys, body: CompleteRequest }, async ({ body, path }) => {
    const answer = await completeTask(deps, pathId(path, 'id'), body);
    countMetric('Completions');
    return { status: 200, body: answer };
  });

export const handler = onAws(makeHandler);
