// The defaults of every Benchfleet Lambda in one place: newest Node.js LTS runtime, arm64, bundled
// and minified with source maps, the AWS SDK from the stack's layer, a log group with a retention,
// Powertools settings. Grants that come with an environment variable are made in one call
// (`bindTable`), so a function never gets a name it may not use, or a permission it has no name for.
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import type { ITableV2 } from 'aws-cdk-lib/aws-dynamodb';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { METRICS_NAMESPACE } from '../../lambdas/shared/metrics';
import { LAMBDA_NODE_OPTIONS, lambdaBundling, parseSdkSource } from '../bundling';
import { handlerEntry, REPO_ROOT } from '../paths';
import { AwsSdkLayer } from './aws-sdk-layer';

/** Node.js 24 is the newest LTS runtime aws-cdk-lib 2.276 offers (NODEJS_24_X). */
export const LAMBDA_RUNTIME = lambda.Runtime.NODEJS_24_X;
export const SERVICE_NAME = 'benchfleet';

export interface NodeFunctionProps {
  /** File name in lambdas/handlers/ without `.ts`; it exports `handler`. */
  readonly handlerName: string;
  readonly description: string;
  readonly timeout?: Duration;
  readonly memorySize?: number;
  readonly environment?: Record<string, string>;
  readonly logRetention?: logs.RetentionDays;
}

const READ = ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:Query'] as const;
const WRITE = [...READ, 'dynamodb:PutItem', 'dynamodb:UpdateItem'] as const;

/**
 * Table actions by access mode: named actions only, never `dynamodb:*` or a Scan. RWC is for the
 * start of a run alone: it writes the tasks in batches, and deletes the run it could not start.
 */
export const TABLE_ACTIONS = {
  R: READ,
  RW: WRITE,
  RWC: [...WRITE, 'dynamodb:DeleteItem', 'dynamodb:BatchWriteItem'],
} as const;
export type TableMode = keyof typeof TABLE_ACTIONS;

export class NodeFunction extends NodejsFunction {
  readonly handlerName: string;

  constructor(scope: Construct, id: string, props: NodeFunctionProps) {
    // A log group of our own: a retention, and it goes away with the stack (no stray log groups).
    const sdk = parseSdkSource(scope.node.tryGetContext('lambdaSdk'));
    const logGroup = new logs.LogGroup(scope, `${id}Logs`, {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    super(scope, id, {
      entry: handlerEntry(props.handlerName),
      handler: 'handler',
      description: props.description,
      runtime: LAMBDA_RUNTIME,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySize ?? 512,
      timeout: props.timeout ?? Duration.seconds(29),
      logGroup,
      projectRoot: REPO_ROOT,
      depsLockFilePath: `${REPO_ROOT}/package-lock.json`,
      bundling: lambdaBundling(sdk),
      layers: sdk === 'layer' ? [AwsSdkLayer.of(scope)] : [],
      environment: {
        NODE_OPTIONS: LAMBDA_NODE_OPTIONS,
        POWERTOOLS_SERVICE_NAME: SERVICE_NAME,
        POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
        POWERTOOLS_LOG_LEVEL: 'INFO',
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
        ...props.environment,
      },
    });
    this.handlerName = props.handlerName;
  }

  /** Grants the mode's table actions (table and its indexes) and sets TABLE_NAME. */
  bindTable(table: ITableV2, mode: TableMode): this {
    table.grant(this, ...TABLE_ACTIONS[mode]);
    this.addEnvironment('TABLE_NAME', table.tableName);
    return this;
  }
}
