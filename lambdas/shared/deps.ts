// The AWS set of adapters, built once per cold start. The local mode builds the same adapters
// pointed at dynalite and s3rver (lambdas/adapters/local/), so Lambda and local mode run one core.
import {
  DynamoDBClient,
  DynamoDBDocumentClient,
  EventBridgeClient,
  S3Client,
  SecretsManagerClient,
  SFNClient,
} from '@benchfleet/aws-sdk';
import { DynamoRunStore } from '../adapters/dynamodb-run-store';
import { EventBridgeReaperSchedule } from '../adapters/eventbridge-reaper-schedule';
import { S3ResultStore, s3ClientConfig } from '../adapters/s3-result-store';
import { secretsManagerKeys } from '../adapters/secrets-manager-keys';
import { SfnAssemblyTrigger } from '../adapters/sfn-assembly-trigger';
import { DEFAULT_SETTINGS, type Deps } from '../core/ports';
import { readEnv } from './env';

export const DOC_CLIENT_OPTIONS = {
  marshallOptions: { removeUndefinedValues: true, convertEmptyValues: false },
  unmarshallOptions: { wrapNumbers: false },
};

export function awsDeps(): Deps {
  const env = readEnv();
  const doc = DynamoDBDocumentClient.from(new DynamoDBClient({}), DOC_CLIENT_OPTIONS);
  return {
    keys: secretsManagerKeys(
      new SecretsManagerClient({}),
      env.OPERATOR_KEY_SECRET_ARN,
      env.RUNNER_KEY_SECRET_ARN,
    ),
    store: new DynamoRunStore(doc, env.TABLE_NAME),
    results: new S3ResultStore(new S3Client(s3ClientConfig()), env.RESULTS_BUCKET),
    assembly: new SfnAssemblyTrigger(new SFNClient({}), env.STATE_MACHINE_ARN),
    schedule: new EventBridgeReaperSchedule(new EventBridgeClient({}), env.REAPER_RULE_NAME),
    clock: () => new Date(),
    settings: {
      ...DEFAULT_SETTINGS,
      heartbeatTimeoutSeconds: env.HEARTBEAT_TIMEOUT_SECONDS,
      waitRetrySeconds: env.WAIT_RETRY_SECONDS,
    },
  };
}

let cached: Deps | undefined;

/**
 * The Lambda entry point of a handler factory: AWS deps are built on the first invocation, not at
 * import, so tests and the local mode can import handler modules without a Lambda environment.
 */
export function onAws<E, R, C>(
  make: (deps: Deps) => (event: E, context: C) => Promise<R>,
): (event: E, context: C) => Promise<R> {
  let handler: ((event: E, context: C) => Promise<R>) | undefined;
  return (event, context) => {
    cached ??= awsDeps();
    handler ??= make(cached);
    return handler(event, context);
  };
}
