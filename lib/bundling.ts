// esbuild options of every Lambda bundle, shared by the CDK functions and perf/bundles.bench.ts, so
// the benchmark measures exactly what is deployed.
import { OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';

export const LAMBDA_NODE_TARGET = 'node24';

export const LAMBDA_BUNDLING = {
  minify: true,
  sourceMap: true,
  target: LAMBDA_NODE_TARGET,
  format: OutputFormat.CJS,
  // ESM entry points first: they tree-shake (the AWS SDK's dist-es, for one), CJS builds do not.
  mainFields: ['module', 'main'],
  // The pinned SDK is bundled rather than taken from the runtime: the S3 checksum settings of
  // s3ClientConfig() depend on the SDK version, and tests ran against the lockfile's versions.
  externalModules: [] as string[],
} as const;
