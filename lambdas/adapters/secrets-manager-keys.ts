// The two API keys from Secrets Manager, read at a cold start and again every few minutes, so a key
// rotated in Secrets Manager (after a leak, or between runs) stops working within that time, not
// whenever a warm Lambda happens to be recycled.
import { GetSecretValueCommand, type SecretsManagerClient } from '@benchfleet/aws-sdk';
import type { ApiKeys } from '../core/ports';
import { logger } from '../shared/logger';
import { adaptClient } from './sdk-client';

/** How long a read of the keys is used before they are read again. */
export const KEYS_TTL_MS = 5 * 60_000;
/**
 * How long keys read before may still be used while reads fail (Secrets Manager throttled or
 * away): long enough to ride out an outage, short enough that a secret made unreadable by a
 * rotation (a denied read, a deleted secret) does not keep the old key working for ever.
 */
export const KEYS_MAX_STALE_MS = 60 * 60_000;

export function secretsManagerKeys(
  client: SecretsManagerClient,
  operatorArn: string,
  runnerArn: string,
  now: () => number = Date.now,
): () => Promise<ApiKeys> {
  adaptClient(client);
  let cached: { keys: Promise<ApiKeys>; until: number } | undefined;
  let good: { keys: ApiKeys; readAt: number } | undefined;
  const read = async (arn: string): Promise<string> => {
    const out = await client.send(new GetSecretValueCommand({ SecretId: arn }));
    if (!out.SecretString) throw new Error(`secret ${arn} has no string value`);
    return out.SecretString;
  };
  const readBoth = async (): Promise<ApiKeys> => {
    const [operator, runner] = await Promise.all([read(operatorArn), read(runnerArn)]);
    good = { keys: { operator, runner }, readAt: now() };
    return good.keys;
  };
  const orStale = (entry: { until: number }, err: unknown): ApiKeys => {
    const age = good === undefined ? undefined : now() - good.readAt;
    if (good === undefined || age === undefined || age >= KEYS_MAX_STALE_MS) throw err;
    entry.until = Math.min(entry.until, good.readAt + KEYS_MAX_STALE_MS);
    logger.warn(
      `could not read the API keys from Secrets Manager again; going on with the keys read ${Math.round(age / 60_000)} min ago, for at most ${KEYS_MAX_STALE_MS / 60_000} min`,
      { error: err as Error },
    );
    return good.keys;
  };
  return () => {
    const at = now();
    if (cached && at < cached.until) return cached.keys;
    // A failed read is tried again on the next request; a failed refresh keeps the keys read before
    // for a while (orStale), so a throttled Secrets Manager does not turn every request away.
    const entry = { until: at + KEYS_TTL_MS } as { keys: Promise<ApiKeys>; until: number };
    entry.keys = readBoth().catch((err: unknown) => orStale(entry, err));
    cached = entry;
    entry.keys.catch(() => {
      if (cached === entry) cached = undefined;
    });
    return entry.keys;
  };
}
