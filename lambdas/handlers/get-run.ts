import type { Deps } from '../core/ports';
import { getRunView } from '../core/runs';
import { onAws } from '../shared/deps';
import { httpRoute } from '../shared/http';

// Public, but `gzip_url` is only handed out to the operator: the runner key sits in VM user data.
export const makeHandler = (deps: Deps) =>
  httpRoute({ access: 'public', keys: deps.keys }, async ({ caller }) => ({
    status: 200,
    body: await getRunView(deps, caller === 'operator'),
  }));

export const handler = onAws(makeHandler);
