import type { Deps } from '../core/ports';
import { reassembleRun } from '../core/run-assembly';
import { onAws } from '../shared/deps';
import { httpRoute } from '../shared/http';

export const makeHandler = (deps: Deps) =>
  httpRoute({ access: 'operator', keys: deps.keys }, async () => ({
    status: 202,
    body: await reassembleRun(deps),
  }));

export const handler = onAws(makeHandler);
