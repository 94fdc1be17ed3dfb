// esbuild options of every Lambda bundle and of the AWS SDK layer, shared by the CDK functions and
// perf/bundles.bench.ts, so the benchmark measures exactly what is deployed.
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { type BuildOptions, buildSync } from 'esbuild';
import ts from 'typescript';
import { sourceCommit } from '../scripts/source-commit.cjs';
import { REPO_ROOT } from './paths';

export const LAMBDA_NODE_TARGET = 'node24';

/** The one module through which Lambda code reaches the AWS SDK (tsconfig `paths`). */
export const SDK_MODULE = '@benchfleet/aws-sdk';
export const SDK_MODULE_SOURCE = join(REPO_ROOT, 'lambdas', 'shared', 'aws-sdk.ts');
/** Where a layer's modules go: Lambda puts /opt/nodejs/node_modules on NODE_PATH. */
export const LAYER_NODE_MODULES = join('nodejs', 'node_modules');

/**
 * Where each function gets the AWS SDK from (context `lambdaSdk`):
 * - `layer` (default): one layer per stack holds the lockfile's SDK, tree-shaken and minified,
 *   each package evaluated on first use (buildSdkLayer); every function marks `@benchfleet/aws-sdk`
 *   external. Function bundles hold
 *   only the app (~150 KB), the SDK is uploaded once, and its version is still the tested one.
 * - `bundled`: each function bundles the SDK itself (~550 KB more per function, all of it
 *   evaluated at load), no layer.
 * Not offered: the SDK of the Lambda runtime. Its version changes under the functions, it lacks
 * some @smithy packages, and AWS advises against it for production.
 */
export type LambdaSdkSource = 'layer' | 'bundled';

/**
 * NODE_OPTIONS of every function: stack traces in CloudWatch name the TypeScript source. It costs
 * init time (Node reads each bundle's source map as it loads it), so the bundles bench sets it too.
 */
export const LAMBDA_NODE_OPTIONS = '--enable-source-maps';

const ESBUILD_COMMON = {
  minify: true,
  target: LAMBDA_NODE_TARGET,
  // ESM entry points first: they tree-shake (the AWS SDK's dist-es, for one), CJS builds do not.
  mainFields: ['module', 'main'],
};

/**
 * Modules archiver (the archive builder's tar.gz writer) loads for what the builder never asks of
 * it: files and directories from disk (lazystream, graceful-fs, glob, readdir-glob) and the zip
 * format (zip-stream). Each bundle gets scripts/unused-module.cjs in their place, which throws if used:
 * ~170 KB less to load in the build-archive function. The builder only appends buffers to a tar.gz
 * (lambdas/core/assembly/builder.ts); test/infra/cdk/sdk-layer.test.ts builds an archive with the bundle.
 */
export const UNUSED_MODULES = ['lazystream', 'graceful-fs', 'glob', 'readdir-glob', 'zip-stream'];
/** esbuild `alias` of every Lambda bundle: each unused module to the stub. */
export const LAMBDA_ALIAS: Record<string, string> = Object.fromEntries(
  UNUSED_MODULES.map((m) => [m, join(REPO_ROOT, 'scripts', 'unused-module.cjs')]),
);

/**
 * esbuild `define` of every Lambda bundle: the commit it is built from, which the API sends in every
 * answer (lambdas/shared/build-info.ts), so the CLI can tell a deployment from another checkout.
 */
export function lambdaDefine(): Record<string, string> {
  return { 'process.env.BENCHFLEET_BUILD_COMMIT': JSON.stringify(sourceCommit() ?? '') };
}

export function lambdaBundling(sdk: LambdaSdkSource = 'layer') {
  return {
    ...ESBUILD_COMMON,
    define: lambdaDefine(),
    sourceMap: true,
    format: OutputFormat.CJS,
    externalModules: sdk === 'layer' ? [SDK_MODULE] : [],
    esbuildArgs: { '--alias': Object.entries(LAMBDA_ALIAS).map(([from, to]) => `${from}=${to}`) },
  };
}

/** lambdaBundling as esbuild's own API takes it, for builds outside the CDK (the bench, tests). */
export function lambdaBuildOptions(sdk: LambdaSdkSource = 'layer'): BuildOptions {
  const b = lambdaBundling(sdk);
  return {
    bundle: true,
    platform: 'node',
    target: b.target,
    format: 'cjs',
    minify: b.minify,
    sourcemap: b.sourceMap,
    mainFields: [...b.mainFields],
    external: [...b.externalModules],
    alias: LAMBDA_ALIAS,
    define: b.define,
    tsconfig: join(REPO_ROOT, 'tsconfig.json'),
    logLevel: 'error',
  };
}

export function parseSdkSource(value: unknown): LambdaSdkSource {
  if (value === undefined || value === null || value === '' || value === 'layer') return 'layer';
  if (value === 'bundled') return 'bundled';
  throw new Error(`context lambdaSdk must be "layer" or "bundled", got ${JSON.stringify(value)}`);
}

/** What the SDK module re-exports: the value names (types aside) each package gives it. */
export function sdkModuleExports(source = SDK_MODULE_SOURCE): Map<string, string[]> {
  const file = ts.createSourceFile(source, readFileSync(source, 'utf8'), ts.ScriptTarget.ES2022);
  const byPackage = new Map<string, string[]>();
  for (const s of file.statements) {
    const ok =
      ts.isExportDeclaration(s) &&
      s.moduleSpecifier !== undefined &&
      ts.isStringLiteral(s.moduleSpecifier) &&
      s.exportClause !== undefined &&
      ts.isNamedExports(s.exportClause);
    if (!ok) {
      const { line } = file.getLineAndCharacterOfPosition(s.getStart(file));
      throw new Error(
        `${source}:${line + 1}: the SDK module may only hold \`export { Name } from 'package'\` (the layer loads each package on first use)`,
      );
    }
    if (s.isTypeOnly) continue;
    const names = s.exportClause.elements.filter((e) => !e.isTypeOnly).map((e) => e.name.text);
    const pkg = s.moduleSpecifier.text;
    byPackage.set(pkg, [...(byPackage.get(pkg) ?? []), ...names]);
  }
  return byPackage;
}

/**
 * The layer's entry: the SDK module's exports as getters, each package's part `require`d on the
 * first read of one of its names, so a function that is only loaded (Lambda's init) loads no SDK
 * code, and one that only uses DynamoDB never loads S3's.
 */
export function lazySdkEntry(byPackage: Map<string, string[]>, partFile: (pkg: string) => string): string {
  const lines = [
    '"use strict";',
    '// Generated by lib/bundling.ts (lazySdkEntry) from lambdas/shared/aws-sdk.ts.',
    'const once = (load) => { let m; return () => (m ??= load()); };',
    'Object.defineProperty(exports, "__esModule", { value: true });',
  ];
  [...byPackage].forEach(([pkg, names], i) => {
    lines.push(`const p${i} = once(() => require(${JSON.stringify(partFile(pkg))}));`);
    for (const name of names) {
      const key = JSON.stringify(name);
      lines.push(`Object.defineProperty(exports, ${key}, { enumerable: true, get: () => p${i}()[${key}] });`);
    }
  });
  return `${lines.join('\n')}\n`;
}

/** Where the layer's parts and their shared chunks go, beside its index.js. */
const PARTS_DIR = 'parts';

/**
 * Builds the SDK layer's content into `outDir`: in `nodejs/node_modules/@benchfleet/aws-sdk/`,
 * index.js (lazySdkEntry) and, in parts/, one file per package of the SDK module and the chunks
 * they share (@smithy, @aws-sdk/core), each with its source map. Returns the path of index.js.
 *
 * A function's init reads only index.js (~4 KB); the first use of a package reads and runs its part
 * and the chunks it needs, once. Two esbuild steps, because esbuild splits code into shared chunks
 * only for ESM output, and the functions are CJS:
 * 1. one part per package, `export { <its names> } from '<package>'`, bundled as ESM with code
 *    splitting: tree-shaken as one bundle is, each piece of shared code in one chunk;
 * 2. each of those files turned into CJS as it is (`require` for `import`, getters for `export`).
 */
export function buildSdkLayer(outDir: string): string {
  const dir = join(outDir, LAYER_NODE_MODULES, ...SDK_MODULE.split('/'));
  // Inside outDir, so the source maps' paths (and the layer's asset hash) are the same every build;
  // removed before the layer is packaged.
  const work = join(outDir, '.sdk-parts');
  const split = join(work, 'esm');
  const partName = (pkg: string) => pkg.replace(/^@aws-sdk\//, '').replace(/[^a-z0-9-]/g, '_');
  const byPackage = sdkModuleExports();
  try {
    rmSync(work, { recursive: true, force: true });
    mkdirSync(work, { recursive: true });
    const entryPoints: Record<string, string> = {};
    for (const [pkg, names] of byPackage) {
      const part = join(work, `${partName(pkg)}.mjs`);
      writeFileSync(part, `export { ${names.join(', ')} } from ${JSON.stringify(pkg)};\n`);
      entryPoints[partName(pkg)] = part;
    }
    buildSync({
      ...ESBUILD_COMMON,
      entryPoints,
      outdir: split,
      bundle: true,
      platform: 'node',
      format: 'esm',
      splitting: true,
      sourcemap: true,
      // outDir may be outside the repository (the bench builds in the temp dir)
      nodePaths: [join(REPO_ROOT, 'node_modules')],
      logLevel: 'error',
    });
    buildSync({
      ...ESBUILD_COMMON,
      entryPoints: readdirSync(split)
        .filter((f) => f.endsWith('.js'))
        .map((f) => join(split, f)),
      outdir: join(dir, PARTS_DIR),
      // each file alone: its imports of the others stay imports (bundling, so the maps chain)
      bundle: true,
      external: ['./*'],
      platform: 'node',
      format: 'cjs',
      // ESM is strict mode; CJS is not unless it says so
      banner: { js: '"use strict";' },
      // chained: the maps point at the packages' own sources, not at step 1's files
      sourcemap: true,
      logLevel: 'error',
    });
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  const index = join(dir, 'index.js');
  writeFileSync(
    index,
    lazySdkEntry(byPackage, (pkg) => `./${PARTS_DIR}/${partName(pkg)}.js`),
  );
  return index;
}
