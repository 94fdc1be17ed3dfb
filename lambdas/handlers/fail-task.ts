import type { Deps } from '../core/ports';
import { failTask } from '../core/tasks';
import { FailRequest } from '../shared/contract';
import { onAws } from '../shared/deps';
import { httpRoute, pathId } from '../shared/http';
import { countMetric } from '../shared/metrics';

export const makeHandler = (deps: Deps) =>
  httpRoute({ access: 'runner', keys: deps.keys, body: FailRequest }, async ({ body, path }) => {
    const answer = await failTask(deps, pathId(path, 'id'), body);
    countMetric('Failures', 1, { error_type: body.error_type });
    return { status: 200, body: answer };
  });

export const handler = onAws(makeHandler);
