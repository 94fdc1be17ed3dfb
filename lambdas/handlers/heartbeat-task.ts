import type { Deps } from '../core/ports';
import { heartbeat } from '../core/tasks';
import { HeartbeatRequest } from '../shared/contract';
import { onAws } from '../shared/deps';
import { httpRoute, pathId } from '../shared/http';

export const makeHandler = (deps: Deps) =>
  httpRoute({ access: 'runner', keys: deps.keys, body: HeartbeatRequest }, async ({ body, path }) => ({
    status: 200,
    body: await heartbeat(deps, pathId(path, 'id'), body),
  }));

export const handler = onAws(makeHandler);
