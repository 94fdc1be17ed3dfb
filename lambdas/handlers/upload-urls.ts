import type { Deps } from '../core/ports';
import { uploadUrls } from '../core/tasks';
import { UploadUrlsRequest } from '../shared/contract';
import { onAws } from '../shared/deps';
import { httpRoute, pathId } from '../shared/http';

// Fresh presigned URLs at upload time: a URL minted at claim dies with the Lambda role's session.
export const makeHandler = (deps: Deps) =>
  httpRoute({ access: 'runner', keys: deps.keys, body: UploadUrlsRequest }, async ({ body, path }) => ({
    status: 200,
    body: await uploadUrls(deps, pathId(path, 'id'), body),
  }));

export const handler = onAws(makeHandler);
