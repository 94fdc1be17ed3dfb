// esbuild options of every Lambda bundle, shared by the CDK functions and perf/bundles.bench.ts, so
// the benchmark measures exactly what is deployed.
import { OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';

export const LAMBDA_NODE_TARGET = 'node24';

/**
 * Where the AWS SDK comes from (context `lambdaSdk`):
 * - `bundled` (default): the lockfile's SDK is bundled. The S3 checksum settings of s3ClientConfig()
 *   depend on the SDK version, and the tests ran against these versions; costs ~550 KB per bundle.
 * - `runtime`: `@aws-sdk/*` is left to the SDK the nodejs24.x runtime ships. Bundles shrink to the
 *   app and its other dependencies, but the SDK version then changes under the functions whenever
 *   AWS updates the runtime.
 */
export type LambdaSdkSource = 'bundled' | 'runtime';
export const SDK_EXTERNALS = ['@aws-sdk/*', '@smithy/*'];

export function lambdaBundling(sdk: LambdaSdkSource = 'bundled') {
  return {
    minify: true,
    sourceMap: true,
    target: LAMBDA_NODE_TARGET,
    format: OutputFormat.CJS,
    // ESM entry points first: they tree-shake (the AWS SDK's dist-es, for one), CJS builds do not.
    mainFields: ['module', 'main'],
    externalModules: sdk === 'runtime' ? [...SDK_EXTERNALS] : [],
  };
}

export function parseSdkSource(value: unknown): LambdaSdkSource {
  if (value === undefined || value === null || value === '' || value === 'bundled') return 'bundled';
  if (value === 'runtime') return 'runtime';
  throw new Error(`context lambdaSdk must be "bundled" or "runtime", got ${JSON.stringify(value)}`);
}
