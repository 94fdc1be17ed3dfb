// Presigned upload URLs are scoped to the task's own keys and expire. s3rver 3.7.1 does not check
// SigV4 signatures (LOCAL-STACK.md), so a tampered URL would still be accepted locally; instead this
// recomputes the signature itself: it reproduces the API's signature for the URL as handed out, and
// a path changed to another task's key no longer matches it, which is what real S3 refuses.
import { createHash, createHmac } from 'node:crypto';
import type { LocalStack } from '../../lambdas/adapters/local/stack';
import { ClaimResponse, PresignedUrls, storageKeys } from '../../lambdas/shared/contract';
import { client, RUNNER, resultTarball, startTestStack } from '../helpers/api';

// s3rver's fixed credentials, as the local stack's S3 client uses them
const SECRET = 'S3RVER';
let stack: LocalStack;
let api: ReturnType<typeof client>;
let runId: number;

const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');
const hmac = (key: Buffer | string, s: string): Buffer => createHmac('sha256', key).update(s).digest();
const enc = (s: string): string =>
  encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

/** SigV4 query signature of a presigned PUT/GET whose only signed header is host. */
function expectedSignature(method: string, url: URL): string {
  const q = [...url.searchParams.entries()]
    .filter(([k]) => k !== 'X-Amz-Signature')
    .map(([k, v]) => `${enc(k)}=${enc(v)}`)
    .sort()
    .join('&');
  const canonical = [method, url.pathname, q, `host:${url.host}\n`, 'host', 'UNSIGNED-PAYLOAD'].join('\n');
  const date = url.searchParams.get('X-Amz-Date') as string;
  const [, day, region, service] = (url.searchParams.get('X-Amz-Credential') as string).split('/');
  const scope = `${day}/${region}/${service}/aws4_request`;
  const toSign = ['AWS4-HMAC-SHA256', date, scope, sha256(canonical)].join('\n');
  let key = hmac(`AWS4${SECRET}`, day as string);
  for (const part of [region, service, 'aws4_request']) key = hmac(key, part as string);
  return createHmac('sha256', key).update(toSign).digest('hex');
}

beforeAll(async () => {
  stack = await startTestStack();
  api = client(stack.apiUrl);
  runId = (await api.start({ runs_per_instance_type: 2, local: ['p'] })).body.run_id;
});
afterAll(() => stack.stop());

async function claim(runnerId: string): Promise<{ id: number; urls: PresignedUrls }> {
  const c = ClaimResponse.parse((await api.claim(runId, 'p', runnerId)).body);
  if (c.status !== 'assigned') throw new Error(`expected a task, got ${c.status}`);
  return { id: c.task.id, urls: c.presigned_urls };
}

describe('presigned upload URLs', () => {
  let a: { id: number; urls: PresignedUrls };
  let b: { id: number; urls: PresignedUrls };
  beforeAll(async () => {
    a = await claim('runner-a');
    b = await claim('runner-b');
  });

  it('name exactly the task’s own result and error keys', () => {
    for (const t of [a, b]) {
      const bucket = `/${stack.services.bucket}/`;
      expect(new URL(t.urls.result).pathname).toBe(bucket + storageKeys.result(runId, t.id));
      expect(new URL(t.urls.error).pathname).toBe(bucket + storageKeys.error(runId, t.id));
      expect(t.urls.result_key).toBe(storageKeys.result(runId, t.id));
      expect(t.urls.result_upload_url).toBe(t.urls.result);
    }
    expect(a.id).not.toBe(b.id);
  });

  it('expire after the configured TTL, and sign only the host (no body checksum)', () => {
    const url = new URL(a.urls.result);
    expect(url.searchParams.get('X-Amz-Expires')).toBe(String(stack.deps.settings.uploadUrlTtlSeconds));
    expect(a.urls.expires_in_seconds).toBe(stack.deps.settings.uploadUrlTtlSeconds);
    expect(url.searchParams.get('X-Amz-SignedHeaders')).toBe('host');
  });

  it('carry a signature that binds the path: task A’s URL cannot be bent to task B’s key', () => {
    const url = new URL(a.urls.result);
    const given = url.searchParams.get('X-Amz-Signature');
    expect(expectedSignature('PUT', url)).toBe(given); // the check reproduces the API's signature
    const tampered = new URL(url);
    tampered.pathname = url.pathname.replace(`/tasks/${a.id}/`, `/tasks/${b.id}/`);
    expect(tampered.pathname).toBe(new URL(b.urls.result).pathname);
    expect(expectedSignature('PUT', tampered)).not.toBe(given);
    const longer = new URL(a.urls.result);
    longer.searchParams.set('X-Amz-Expires', '604800');
    expect(expectedSignature('PUT', longer)).not.toBe(given); // nor can its lifetime be stretched
    expect(expectedSignature('GET', url)).not.toBe(given); // nor can it read
  });

  it('upload-urls mints fresh URLs for the caller’s own task only', async () => {
    const mine = await api.call('POST', `/tasks/${a.id}/upload-urls`, {
      key: RUNNER,
      body: { runner_id: 'runner-a' },
    });
    expect(mine.status).toBe(200);
    expect(PresignedUrls.parse(mine.body).result_key).toBe(storageKeys.result(runId, a.id));
    const theirs = await api.call('POST', `/tasks/${b.id}/upload-urls`, {
      key: RUNNER,
      body: { runner_id: 'runner-a' },
    });
    expect(theirs.status).toBe(409);
    expect(theirs.body).toMatchObject({ error: 'not_your_task' });
  });

  it('an expired URL is refused with 403 and stores nothing', async () => {
    const saved = stack.deps.settings.uploadUrlTtlSeconds;
    stack.deps.settings.uploadUrlTtlSeconds = 1;
    try {
      const fresh = await api.call('POST', `/tasks/${a.id}/upload-urls`, {
        key: RUNNER,
        body: { runner_id: 'runner-a' },
      });
      const urls = PresignedUrls.parse(fresh.body);
      expect(new URL(urls.result).searchParams.get('X-Amz-Expires')).toBe('1');
      // X-Amz-Date has one-second resolution: wait past date + 1 s for certain
      await new Promise((r) => setTimeout(r, 2_200));
      const put = await fetch(urls.result, { method: 'PUT', body: new Uint8Array(resultTarball()) });
      expect(put.status).toBe(403);
      expect(await stack.deps.results.exists(urls.result_key)).toBe(false);
      const done = await api.complete(a.id, 'runner-a');
      expect(done.status).toBe(409);
      expect(done.body).toMatchObject({ error: 'result_not_uploaded' });
    } finally {
      stack.deps.settings.uploadUrlTtlSeconds = saved;
    }
  });
});
