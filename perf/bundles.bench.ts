// `npm run perf -- bundles`: per Lambda (each route handler, the reaper, each assembly step) and for
// the runner, the minified bundle size and the median time to load it in a fresh Node process, a
// proxy for a cold start (for the Lambdas with their NODE_OPTIONS, source maps included). The Lambda bundles use the CDK's own esbuild options (lib/bundling.ts).
// Targets (issue 6): <= 500 KB and <= 150 ms each. BENCH_RUNS sets the samples per bundle (default 5).
// With the default SDK layer, each function's bundle leaves `@benchfleet/aws-sdk` to the layer, and
// its init_ms is measured with the built layer on NODE_PATH, as Lambda puts /opt/nodejs/node_modules
// there: what the layer loads at init counts in every function's figure. That is only its getters:
// each SDK package loads on the function's first use of it (lib/bundling.ts: buildSdkLayer), in the
// first request, which init_ms does not include. The layer's own line gives the bound: kb of all its
// files, init_ms of loading every package (a first request that uses all five clients, at most).
// BENCH_SDK=bundled measures the `-c lambdaSdk=bundled` bundles (the SDK inside each function).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { HANDLERS, REAPER_HANDLER } from '../lambdas/shared/routes';
import {
  buildSdkLayer,
  LAMBDA_NODE_OPTIONS,
  LAYER_NODE_MODULES,
  lambdaBuildOptions,
  parseSdkSource,
} from '../lib/bundling';
import { handlerEntry, REPO_ROOT } from '../lib/paths';
import { STEP_HANDLERS } from '../lib/workflows/assembly-workflow';

export const TARGET_KB = 500;
export const TARGET_INIT_MS = 150;

const LOAD = `const t = process.hrtime.bigint(); const m = require(process.argv[1]);
if (process.argv[2] === 'every-export') for (const k of Object.keys(m)) void m[k];
process.stdout.write(String(Number(process.hrtime.bigint() - t) / 1e6));`;

export interface LoadOptions {
  /** the layer's node_modules, as Lambda puts /opt/nodejs/node_modules on NODE_PATH */
  nodePath?: string | undefined;
  /** the functions' NODE_OPTIONS (source maps), for what runs in Lambda */
  nodeOptions?: string | undefined;
  /** reading each export counts too (the SDK layer's lazy getters) */
  everyExport?: boolean;
}

/** Median load time of `file` over `runs` fresh processes (each pays the full module load). */
export function medianInitMs(file: string, runs: number, o: LoadOptions = {}): number {
  const env = {
    PATH: process.env.PATH,
    ...(o.nodePath ? { NODE_PATH: o.nodePath } : {}),
    ...(o.nodeOptions ? { NODE_OPTIONS: o.nodeOptions } : {}),
  };
  const args = ['-e', LOAD, file, ...(o.everyExport ? ['every-export'] : [])];
  const samples = Array.from({ length: runs }, () =>
    Number(execFileSync(process.execPath, args, { encoding: 'utf8', env })),
  ).sort((a, b) => a - b);
  return samples[Math.floor(samples.length / 2)] ?? Number.NaN;
}

const SDK = parseSdkSource(process.env.BENCH_SDK);

async function bundleLambda(name: string, outDir: string): Promise<string> {
  const outfile = join(outDir, name, 'index.js');
  await build({ ...lambdaBuildOptions(SDK), entryPoints: [handlerEntry(name)], outfile });
  return outfile;
}

async function bundleRunner(outDir: string): Promise<string> {
  const mod = (await import(pathToFileURL(join(REPO_ROOT, 'scripts', 'build-runner.mjs')).href)) as {
    buildRunner: (o: { outfile: string }) => Promise<{ outfile: string }>;
  };
  return (await mod.buildRunner({ outfile: join(outDir, 'runner', 'runner.js') })).outfile;
}

export async function run(): Promise<void> {
  const runs = Math.max(1, Number(process.env.BENCH_RUNS ?? 5));
  const outDir = mkdtempSync(join(tmpdir(), 'benchfleet-bundles-'));
  const lambdas = [...HANDLERS, REAPER_HANDLER, ...Object.values(STEP_HANDLERS)];
  try {
    const layerDir = join(outDir, 'layer');
    const nodePath = SDK === 'layer' ? join(layerDir, LAYER_NODE_MODULES) : undefined;
    const measure = (file: string, load: LoadOptions = {}) => ({
      kb: Math.round((statSync(file).size / 1024) * 10) / 10,
      init_ms: Math.round(medianInitMs(file, runs, load) * 10) / 10,
    });
    // every function runs with LAMBDA_NODE_OPTIONS (source maps), so its init_ms does too
    const inLambda: LoadOptions = { nodePath, nodeOptions: LAMBDA_NODE_OPTIONS };
    const report = (name: string, m: { kb: number; init_ms: number }, extra: object): void => {
      const within = m.kb <= TARGET_KB && m.init_ms <= TARGET_INIT_MS;
      console.log(JSON.stringify({ bench: 'bundles', name, ...m, ...extra, within_target: within }));
    };
    if (SDK === 'layer') {
      // Not a function: shared by all of them, uploaded once, and loaded inside each init_ms below.
      const layer = buildSdkLayer(layerDir);
      const files = readdirSync(dirname(layer), { recursive: true, encoding: 'utf8' }).filter((f) =>
        f.endsWith('.js'),
      );
      const bytes = files.reduce((sum, f) => sum + statSync(join(dirname(layer), f)).size, 0);
      const kb = Math.round((bytes / 1024) * 10) / 10;
      const initMs =
        Math.round(medianInitMs(layer, runs, { ...inLambda, nodePath: undefined, everyExport: true }) * 10) /
        10;
      console.log(
        JSON.stringify({
          bench: 'bundles',
          name: 'aws-sdk-layer',
          kb,
          init_ms: initMs,
          loads: 'every package',
        }),
      );
    }
    for (const name of lambdas)
      report(name, measure(await bundleLambda(name, outDir), inLambda), { sdk: SDK });
    report('runner', measure(await bundleRunner(outDir)), {});
  } finally {
    rmSync(outDir, { recursive: true, force: true });
  }
}
