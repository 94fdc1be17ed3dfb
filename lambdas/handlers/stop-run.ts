import type { Deps } from '../core/ports';
import { stopRun } from '../core/runs';
import { StopRequest } from '../shared/contract';
import { onAws } from '../shared/deps';
import { httpRoute } from '../shared/http';

export const makeHandler = (deps: Deps) =>
  httpRoute({ access: 'operator', keys: deps.keys, body: StopRequest }, async ({ body }) => ({
    status: 200,
    body: await stopRun(deps, body.run_id),
  }));

export const handler = onAws(makeHandler);
