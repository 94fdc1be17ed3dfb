// The two API keys from Secrets Manager, read once per cold start.
import { GetSecretValueCommand, type SecretsManagerClient } from '@benchfleet/aws-sdk';
import type { ApiKeys } from '../core/ports';
import { adaptClient } from './sdk-client';

export function secretsManagerKeys(
  client: SecretsManagerClient,
  operatorArn: string,
  runnerArn: string,
): () => Promise<ApiKeys> {
  adaptClient(client);
  let cached: Promise<ApiKeys> | undefined;
  const read = async (arn: string): Promise<string> => {
    const out = await client.send(new GetSecretValueCommand({ SecretId: arn }));
    if (!out.SecretString) throw new Error(`secret ${arn} has no string value`);
    return out.SecretString;
  };
  return () => {
    cached ??= Promise.all([read(operatorArn), read(runnerArn)]).then(([operator, runner]) => ({
      operator,
      runner,
    }));
    // a failed read is retried on the next request instead of being cached forever
    cached.catch(() => {
      cached = undefined;
    });
    return cached;
  };
}
