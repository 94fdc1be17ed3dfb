// The deployed artifacts themselves, built as `cdk synth` builds them (real esbuild, no Docker):
// a function bundle leaves the AWS SDK to the stack's layer, loads with the layer on NODE_PATH as
// Lambda puts /opt/nodejs/node_modules there, and cannot load without it.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import * as sdk from '../../../lambdas/shared/aws-sdk';
import { LAYER_NODE_MODULES, SDK_MODULE } from '../../../lib/bundling';
import { NodeFunction } from '../../../lib/constructs/node-function';

let fnDir: string;
let layerDir: string;

beforeAll(() => {
  // Assets are bundled and staged into the app's outdir as their constructs are made.
  const outdir = mkdtempSync(join(tmpdir(), 'benchfleet-sdk-layer-'));
  const stack = new Stack(new App({ outdir }), 'SdkLayer');
  new NodeFunction(stack, 'GetRun', { handlerName: 'get-run', description: 'bundling test' });
  const assets = readdirSync(outdir)
    .filter((d) => d.startsWith('asset.'))
    .map((d) => join(outdir, d));
  fnDir = assets.find((d) => existsSync(join(d, 'index.js'))) ?? '';
  layerDir = assets.find((d) => existsSync(join(d, LAYER_NODE_MODULES))) ?? '';
  expect(fnDir).not.toBe('');
  expect(layerDir).not.toBe('');
}, 120_000);

const load = (script: string, nodePath?: string) =>
  spawnSync(process.execPath, ['-e', script], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH, ...(nodePath ? { NODE_PATH: nodePath } : {}) },
  });

it('loads a function bundle with the layer on NODE_PATH, and exports its handler', () => {
  const r = load(
    `const m = require(${JSON.stringify(join(fnDir, 'index.js'))}); process.stdout.write(typeof m.handler);`,
    join(layerDir, LAYER_NODE_MODULES),
  );
  expect(r.stderr).toBe('');
  expect(r.stdout).toBe('function');
});

it('keeps the SDK out of the function bundle: without the layer it cannot load', () => {
  const r = load(`require(${JSON.stringify(join(fnDir, 'index.js'))});`);
  expect(r.status).not.toBe(0);
  expect(r.stderr).toContain(`Cannot find module '${SDK_MODULE}'`);
});

it('exports from the layer every SDK value the Lambda code imports', () => {
  const r = load(
    `process.stdout.write(JSON.stringify(Object.entries(require('${SDK_MODULE}')).filter(([, v]) => v !== undefined).map(([k]) => k).sort()))`,
    join(layerDir, LAYER_NODE_MODULES),
  );
  expect(JSON.parse(r.stdout)).toEqual(Object.keys(sdk).sort());
});
