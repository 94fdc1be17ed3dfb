// The two API keys from Secrets Manager, read at a cold start and again every few minutes, so a key
// rotated in Secrets Manager (after a leak, or between runs) stops working within that time, not
// whenever a warm Lambda happens to be recycled.
import { GetSecretValueCommand, type SecretsManagerClient } from '@benchfleet/aws-sdk';
import type { ApiKeys } from '../core/ports';
import { adaptClient } from './sdk-client';

/** How long a read of the keys is used before they are read again. */
export const KEYS_TTL_MS = 5 * 60_000;

export function secretsManagerKeys(
  client: SecretsManagerClient,
  operatorArn: string,
  runnerArn: string,
  now: () => number = Date.now,
): () => Promise<ApiKeys> {
  adaptClient(client);
  let cached: { keys: Promise<ApiKeys>; at: number } | undefined;
  const read = async (arn: string): Promise<string> => {
    const out = await client.send(new GetSecretValueCommand({ SecretId: arn }));
    if (!out.SecretString) throw new Error(`secret ${arn} has no string value`);
    return out.SecretString;
  };
  return () => {
    const at = now();
    if (cached && at - cached.at < KEYS_TTL_MS) return cached.keys;
    const previous = cached?.keys;
    const fresh = Promise.all([read(operatorArn), read(runnerArn)]).then(([operator, runner]) => ({
      operator,
      runner,
    }));
    // A failed refresh keeps the keys read before (Secrets Manager throttled or away must not turn
    // every request away) until the next try; a failed first read is retried on the next request.
    const entry = { keys: previous ? fresh.catch(() => previous) : fresh, at };
    cached = entry;
    entry.keys.catch(() => {
      if (cached === entry) cached = undefined;
    });
    return entry.keys;
  };
}
