// `npm run perf -- bundles`: per Lambda (each route handler, the reaper, each assembly step) and for
// the runner, the minified bundle size and the median time to load it in a fresh Node process, a
// proxy for a cold start. The Lambda bundles use the CDK's own esbuild options (lib/bundling.ts).
// Targets (issue 6): <= 500 KB and <= 150 ms each. BENCH_RUNS sets the samples per bundle (default 5).
// With the default SDK layer, each function's bundle leaves `@benchfleet/aws-sdk` to the layer, and
// its init_ms is measured with the built layer on NODE_PATH, as Lambda puts /opt/nodejs/node_modules
// there: the SDK's load time counts in every function's figure. The layer prints its own line.
// BENCH_SDK=bundled measures the `-c lambdaSdk=bundled` bundles (the SDK inside each function).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { HANDLERS, REAPER_HANDLER } from '../lambdas/shared/routes';
import { buildSdkLayer, LAYER_NODE_MODULES, lambdaBuildOptions, parseSdkSource } from '../lib/bundling';
import { handlerEntry, REPO_ROOT } from '../lib/paths';
import { STEP_HANDLERS } from '../lib/workflows/assembly-workflow';

export const TARGET_KB = 500;
export const TARGET_INIT_MS = 150;

const LOAD = `const t = process.hrtime.bigint(); require(process.argv[1]);
process.stdout.write(String(Number(process.hrtime.bigint() - t) / 1e6));`;

/** Median load time of `file` over `runs` fresh processes (each pays the full module load). */
export function medianInitMs(file: string, runs: number, nodePath?: string): number {
  const env = { PATH: process.env.PATH, ...(nodePath ? { NODE_PATH: nodePath } : {}) };
  const samples = Array.from({ length: runs }, () =>
    Number(execFileSync(process.execPath, ['-e', LOAD, file], { encoding: 'utf8', env })),
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
    const measure = (file: string, path?: string) => ({
      kb: Math.round((statSync(file).size / 1024) * 10) / 10,
      init_ms: Math.round(medianInitMs(file, runs, path) * 10) / 10,
    });
    const report = (name: string, m: { kb: number; init_ms: number }, extra: object): void => {
      const within = m.kb <= TARGET_KB && m.init_ms <= TARGET_INIT_MS;
      console.log(JSON.stringify({ bench: 'bundles', name, ...m, ...extra, within_target: within }));
    };
    if (SDK === 'layer') {
      // Not a function: shared by all of them, uploaded once, and loaded inside each init_ms below.
      const layer = buildSdkLayer(layerDir);
      console.log(JSON.stringify({ bench: 'bundles', name: 'aws-sdk-layer', ...measure(layer) }));
    }
    for (const name of lambdas)
      report(name, measure(await bundleLambda(name, outDir), nodePath), { sdk: SDK });
    report('runner', measure(await bundleRunner(outDir)), {});
  } finally {
    rmSync(outDir, { recursive: true, force: true });
  }
}
