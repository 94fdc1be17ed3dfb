import type { Deps } from '../core/ports';
import { stopRun } from '../core/runs';
import { onAws } from '../shared/deps';
import { httpRoute } from '../shared/http';

export const makeHandler = (deps: Deps) =>
  httpRoute({ access: 'operator', keys: deps.keys }, async () => ({
    status: 200,
    body: await stopRun(deps),
  }));

export const handler = onAws(makeHandler);
