// `npm run build`, after tsc: the two deploy inputs the CDK app uploads, dist/runner.js (the
// runner bundle VMs download) and dashboard/dist (the static dashboard). The Lambda bundles are
// not built here: `cdk synth` bundles each handler with esbuild itself.
// bin/app.ts runs this file when either output is missing, so a fresh checkout can `cdk synth`.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildDashboard } from './build-dashboard.mjs';
import { buildRunner } from './build-runner.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

const started = Date.now();
const runner = await buildRunner({ outfile: join(ROOT, 'dist', 'runner.js') });
console.log(`runner: ${(runner.bytes / 1024).toFixed(0)} KB -> ${runner.outfile}`);
await buildDashboard(join(ROOT, 'dashboard', 'dist'));
console.log(`build done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
