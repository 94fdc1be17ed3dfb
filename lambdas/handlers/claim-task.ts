import type { Deps } from '../core/ports';
import { claimTask } from '../core/tasks';
import { ClaimRequest } from '../shared/contract';
import { onAws } from '../shared/deps';
import { httpRoute, pathId } from '../shared/http';
import { countMetric } from '../shared/metrics';

// Serves both POST /tasks/claim (the current run) and POST /runs/{run_id}/tasks/claim.
export const makeHandler = (deps: Deps) =>
  httpRoute({ access: 'runner', keys: deps.keys, body: ClaimRequest }, async ({ body, path }) => {
    const answer = await claimTask(
      deps,
      body,
      path.run_id === undefined ? undefined : pathId(path, 'run_id'),
    );
    countMetric('Claims', 1, { outcome: answer.status });
    return { status: 200, body: answer };
  });

export const handler = onAws(makeHandler);
