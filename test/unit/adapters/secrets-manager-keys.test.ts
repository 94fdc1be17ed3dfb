// The API keys are cached per warm Lambda, but only for KEYS_TTL_MS: a key rotated in Secrets
// Manager stops being accepted within minutes. A refresh that fails keeps the keys read before.
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import {
  KEYS_MAX_STALE_MS,
  KEYS_TTL_MS,
  secretsManagerKeys,
} from '../../../lambdas/adapters/secrets-manager-keys';

const client = new SecretsManagerClient({ region: 'us-east-1' });
const sm = mockClient(client);
let clock = 0;
const keysOf = () => secretsManagerKeys(client, 'arn:operator', 'arn:runner', () => clock);
/** Secrets Manager answers these values from now on. */
const holds = (operator: string, runner: string): void => {
  sm.on(GetSecretValueCommand, { SecretId: 'arn:operator' }).resolves({ SecretString: operator });
  sm.on(GetSecretValueCommand, { SecretId: 'arn:runner' }).resolves({ SecretString: runner });
};
beforeEach(() => {
  sm.reset();
  clock = 1_000_000;
});

it('reads the keys once while they are fresh, and a rotated key is read within KEYS_TTL_MS', async () => {
  holds('op-1', 'run-1');
  const keys = keysOf();
  expect(await keys()).toEqual({ operator: 'op-1', runner: 'run-1' });
  holds('op-2', 'run-2'); // rotated
  clock += KEYS_TTL_MS - 1;
  expect(await keys()).toEqual({ operator: 'op-1', runner: 'run-1' });
  expect(sm).toHaveReceivedCommandTimes(GetSecretValueCommand, 2);
  clock += 1;
  expect(await keys()).toEqual({ operator: 'op-2', runner: 'run-2' });
  expect(sm).toHaveReceivedCommandTimes(GetSecretValueCommand, 4);
});

it('a refresh that fails keeps the keys read before; a first read that fails is tried again', async () => {
  sm.on(GetSecretValueCommand).rejects(
    Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }),
  );
  const keys = keysOf();
  await expect(keys()).rejects.toThrow('Rate exceeded');
  holds('op-1', 'run-1');
  expect(await keys()).toEqual({ operator: 'op-1', runner: 'run-1' });
  sm.on(GetSecretValueCommand).rejects(
    Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }),
  );
  clock += KEYS_TTL_MS;
  expect(await keys()).toEqual({ operator: 'op-1', runner: 'run-1' });
  holds('op-2', 'run-2');
  clock += KEYS_TTL_MS;
  expect(await keys()).toEqual({ operator: 'op-2', runner: 'run-2' });
});

it('keeps keys read before for at most KEYS_MAX_STALE_MS while every read fails, then refuses', async () => {
  holds('op-1', 'run-1');
  const keys = keysOf();
  await keys();
  // the rotation left the secret unreadable to the API (a denied read): the old key must not live on
  sm.on(GetSecretValueCommand).rejects(Object.assign(new Error('denied'), { name: 'AccessDeniedException' }));
  clock += KEYS_MAX_STALE_MS - 1;
  expect(await keys()).toEqual({ operator: 'op-1', runner: 'run-1' });
  clock += 1;
  await expect(keys()).rejects.toThrow('denied');
});
