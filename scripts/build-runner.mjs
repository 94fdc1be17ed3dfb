// Bundles the runner agent into one file, dist/runner.js, that needs nothing but Node 20+ on the VM.
// `node scripts/build-runner.mjs` builds it; scripts/build.mjs and the CDK app import buildRunner().
import { statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { sourceCommit } from './source-commit.cjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

// dockerode loads an SSH transport (ssh2) and BuildKit builds and sessions (gRPC, protobufjs) the
// runner never uses: it talks to a local socket and only runs containers. Stubbing them drops
// ~800 KB from the bundle. They resolve to scripts/unused-module.cjs, which throws if anything ever
// calls it, so a wrong guess fails loudly, not silently.
const UNUSED = /^(ssh2|@grpc\/grpc-js|@grpc\/proto-loader|protobufjs)$/;
/** @type {import('esbuild').Plugin} */
const unusedStub = {
  name: 'unused-stub',
  setup(b) {
    b.onResolve({ filter: UNUSED }, () => ({ path: join(ROOT, 'scripts', 'unused-module.cjs') }));
  },
};

/**
 * @param {{ outfile?: string, minify?: boolean }} [opts]
 * @returns {Promise<{ outfile: string, bytes: number }>}
 */
export async function buildRunner(opts = {}) {
  const outfile = opts.outfile ?? join(ROOT, 'dist', 'runner.js');
  await build({
    entryPoints: [join(ROOT, 'runner', 'cli.ts')],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    minify: opts.minify ?? true,
    legalComments: 'none',
    plugins: [unusedStub],
    banner: { js: '#!/usr/bin/env node' },
    // the commit for every meta.json's runner_version (lambdas/shared/build-info.ts)
    define: { 'process.env.BENCHFLEET_BUILD_COMMIT': JSON.stringify(sourceCommit() ?? '') },
    logLevel: 'warning',
  });
  return { outfile, bytes: statSync(outfile).size };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const i = process.argv.indexOf('--outfile');
  const { outfile, bytes } = await buildRunner(i > 0 ? { outfile: process.argv[i + 1] } : {});
  process.stderr.write(`${outfile}: ${(bytes / 1024).toFixed(0)} KB\n`);
}
