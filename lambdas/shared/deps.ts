// The AWS set of adapters, built once per cold start. The local mode builds the same adapters
// pointed at dynalite and s3rver (lambdas/adapters/local/), so Lambda and local mode run one core.
import {
  DynamoDBClient,
  EventBridgeClient,
  S3Client,
  SecretsManagerClient,
  SFNClient,
} from '@benchfleet/aws-sdk';
import { DynamoRunStore, dynamoClientConfig } from '../adapters/dynamodb-run-store';
import { EventBridgeReaperSchedule } from '../adapters/eventbridge-reaper-schedule';
import { S3ResultStore, s3ClientConfig } from '../adapters/s3-result-store';
import { secretsManagerKeys } from '../adapters/secrets-manager-keys';
import { SfnAssemblyTrigger } from '../adapters/sfn-assembly-trigger';
import { DEFAULT_SETTINGS, type Deps } from '../core/ports';
import { readEnv } from './env';

/** `make()` on the first call, the same value after. */
function once<T>(make: () => T): () => T {
  let made: { value: T } | undefined;
  return () => {
    made ??= { value: make() };
    return made.value;
  };
}

/**
 * Each adapter, and its SDK client, is made on first use: a function that never touches S3 never
 * loads S3's part of the SDK layer (lib/bundling.ts: lazySdkEntry), nor makes its client.
 */
export function awsDeps(): Deps {
  const env = readEnv();
  const keys = once(() =>
    secretsManagerKeys(new SecretsManagerClient({}), env.OPERATOR_KEY_SECRET_ARN, env.RUNNER_KEY_SECRET_ARN),
  );
  const store = once(() => new DynamoRunStore(new DynamoDBClient(dynamoClientConfig()), env.TABLE_NAME));
  const results = once(() => new S3ResultStore(new S3Client(s3ClientConfig()), env.RESULTS_BUCKET));
  const assembly = once(() => new SfnAssemblyTrigger(new SFNClient({}), env.STATE_MACHINE_ARN));
  const schedule = once(() => new EventBridgeReaperSchedule(new EventBridgeClient({}), env.REAPER_RULE_NAME));
  return {
    keys: () => keys()(),
    get store() {
      return store();
    },
    get results() {
      return results();
    },
    get assembly() {
      return assembly();
    },
    get schedule() {
      return schedule();
    },
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
