import type { Deps } from '../core/ports';
import { startRun } from '../core/runs';
import { RunConfig } from '../shared/contract';
import { onAws } from '../shared/deps';
import { httpRoute } from '../shared/http';

export const makeHandler = (deps: Deps) =>
  httpRoute({ access: 'operator', keys: deps.keys, body: RunConfig }, async ({ body }) => ({
    status: 201,
    body: await startRun(deps, body),
  }));

export const handler = onAws(makeHandler);
