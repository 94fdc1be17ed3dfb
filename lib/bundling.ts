// esbuild options of every Lambda bundle and of the AWS SDK layer, shared by the CDK functions and
// perf/bundles.bench.ts, so the benchmark measures exactly what is deployed.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { buildSync } from 'esbuild';
import { REPO_ROOT } from './paths';

export const LAMBDA_NODE_TARGET = 'node24';

/** The one module through which Lambda code reaches the AWS SDK (tsconfig `paths`). */
export const SDK_MODULE = '@benchfleet/aws-sdk';
export const SDK_MODULE_SOURCE = join(REPO_ROOT, 'lambdas', 'shared', 'aws-sdk.ts');
/** Where a layer's modules go: Lambda puts /opt/nodejs/node_modules on NODE_PATH. */
export const LAYER_NODE_MODULES = join('nodejs', 'node_modules');

/**
 * Where each function gets the AWS SDK from (context `lambdaSdk`):
 * - `layer` (default): one layer per stack holds the lockfile's SDK, tree-shaken and minified
 *   (buildSdkLayer); every function marks `@benchfleet/aws-sdk` external. Function bundles hold
 *   only the app (~150 KB), the SDK is uploaded once, and its version is still the tested one.
 * - `bundled`: each function bundles the SDK itself (~550 KB more per function), no layer.
 * Not offered: the SDK of the Lambda runtime. Its version changes under the functions, it lacks
 * some @smithy packages, and AWS advises against it for production.
 */
export type LambdaSdkSource = 'layer' | 'bundled';

const ESBUILD_COMMON = {
  minify: true,
  target: LAMBDA_NODE_TARGET,
  // ESM entry points first: they tree-shake (the AWS SDK's dist-es, for one), CJS builds do not.
  mainFields: ['module', 'main'],
};

export function lambdaBundling(sdk: LambdaSdkSource = 'layer') {
  return {
    ...ESBUILD_COMMON,
    sourceMap: true,
    format: OutputFormat.CJS,
    externalModules: sdk === 'layer' ? [SDK_MODULE] : [],
  };
}

export function parseSdkSource(value: unknown): LambdaSdkSource {
  if (value === undefined || value === null || value === '' || value === 'layer') return 'layer';
  if (value === 'bundled') return 'bundled';
  throw new Error(`context lambdaSdk must be "layer" or "bundled", got ${JSON.stringify(value)}`);
}

/**
 * Builds the SDK layer's content into `outDir`: `nodejs/node_modules/@benchfleet/aws-sdk/index.js`
 * (and its source map), the SDK module bundled with the functions' own esbuild settings.
 * Returns the path of index.js.
 */
export function buildSdkLayer(outDir: string): string {
  const dir = join(outDir, LAYER_NODE_MODULES, ...SDK_MODULE.split('/'));
  mkdirSync(dir, { recursive: true });
  const outfile = join(dir, 'index.js');
  buildSync({
    ...ESBUILD_COMMON,
    entryPoints: [SDK_MODULE_SOURCE],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    sourcemap: true,
    logLevel: 'error',
  });
  return outfile;
}
