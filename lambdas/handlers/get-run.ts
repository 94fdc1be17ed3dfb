import type { Deps } from '../core/ports';
import { getRunView } from '../core/runs';
import { onAws } from '../shared/deps';
import { httpRoute } from '../shared/http';

// Public, but `gzip_url` is only handed out to a caller with a valid key.
export const makeHandler = (deps: Deps) =>
  httpRoute({ access: 'public', keys: deps.keys }, async ({ caller }) => ({
    status: 200,
    body: await getRunView(deps, caller !== null),
  }));

export const handler = onAws(makeHandler);
