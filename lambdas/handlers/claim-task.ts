import type { Deps } from '../core/ports';
import { claimTask } from '../core/tasks';
import { ClaimRequest } from '../shared/contract';
import { onAws } from '../shared/deps';
import { httpRoute, pathId } from '../shared/http';

// Serves both POST /tasks/claim (the current run) and POST /runs/{run_id}/tasks/claim.
export const makeHandler = (deps: Deps) =>
  httpRoute({ access: 'runner', keys: deps.keys, body: ClaimRequest }, async ({ body, path }) => ({
    status: 200,
    body: await claimTask(deps, body, path.run_id === undefined ? undefined : pathId(path, 'run_id')),
  }));

export const handler = onAws(makeHandler);
