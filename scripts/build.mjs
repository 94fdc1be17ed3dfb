// `npm run build`, after tsc: the two deploy inputs the CDK app uploads, dist/runner.js (the
// runner bundle VMs download) and dashboard/dist (the static dashboard). The Lambda bundles are
// not built here: `cdk synth` bundles each handler with esbuild itself.
// `node scripts/build.mjs --out-dir DIR` builds them into DIR/runner/runner.js and DIR/dashboard
// instead: bin/app.ts does so on every synth, into a folder of its own (lib/deploy-inputs.ts).
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildDashboard } from './build-dashboard.mjs';
import { buildRunner } from './build-runner.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

const i = process.argv.indexOf('--out-dir');
const outDir = i > 0 ? resolve(process.argv[i + 1] ?? '') : undefined;
if (i > 0 && !process.argv[i + 1]) {
  console.error('usage: node scripts/build.mjs [--out-dir DIR]');
  process.exit(2);
}

const started = Date.now();
const runner = await buildRunner({
  outfile: outDir ? join(outDir, 'runner', 'runner.js') : join(ROOT, 'dist', 'runner.js'),
});
console.log(`runner: ${(runner.bytes / 1024).toFixed(0)} KB -> ${runner.outfile}`);
await buildDashboard(outDir ? join(outDir, 'dashboard') : join(ROOT, 'dashboard', 'dist'));
console.log(`build done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
