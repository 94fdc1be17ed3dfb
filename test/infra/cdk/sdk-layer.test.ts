// The deployed artifacts themselves, built as `cdk synth` builds them (real esbuild, no Docker):
// a function bundle leaves the AWS SDK to the stack's layer, loads with the layer on NODE_PATH as
// Lambda puts /opt/nodejs/node_modules there, and cannot load without it. The layer evaluates an
// SDK package only when the function first uses it (V8's own coverage of the layer says which ran),
// and the build-archive bundle, its unused modules stubbed, still writes a tar.gz.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { SourceMap } from 'node:module';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { App, Stack } from 'aws-cdk-lib';
import { build } from 'esbuild';
import { toListed } from '../../../lambdas/core/assembly/listing';
import * as sdk from '../../../lambdas/shared/aws-sdk';
import { storageKeys } from '../../../lambdas/shared/contract';
import { LAYER_NODE_MODULES, lambdaBuildOptions, SDK_MODULE } from '../../../lib/bundling';
import { NodeFunction } from '../../../lib/constructs/node-function';
import { BUCKET, makeTarball, putBytes, readArchive, startS3, taskRecord } from '../../assembly/helpers';
import type { BundledArchiveInput } from './fixtures/bundled-archive';

const tmp = mkdtempSync(join(tmpdir(), 'benchfleet-sdk-layer-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Synthesizes a stack holding one function; returns its bundle's and the layer's asset dirs. */
function synthFunction(handlerName: string): { fnDir: string; layerDir: string } {
  // Assets are bundled and staged into the app's outdir as their constructs are made.
  const outdir = mkdtempSync(join(tmp, 'app-'));
  const stack = new Stack(new App({ outdir }), 'SdkLayer');
  new NodeFunction(stack, 'Fn', { handlerName, description: 'bundling test' });
  const assets = readdirSync(outdir)
    .filter((d) => d.startsWith('asset.'))
    .map((d) => join(outdir, d));
  const fnDir = assets.find((d) => existsSync(join(d, 'index.js'))) ?? '';
  const layerDir = assets.find((d) => existsSync(join(d, LAYER_NODE_MODULES))) ?? '';
  expect(fnDir).not.toBe('');
  expect(layerDir).not.toBe('');
  return { fnDir, layerDir };
}

let fnDir: string;
let layerModules: string;

beforeAll(() => {
  const built = synthFunction('get-run');
  fnDir = built.fnDir;
  layerModules = join(built.layerDir, LAYER_NODE_MODULES);
}, 120_000);

const load = (script: string, nodePath?: string, extraEnv: Record<string, string> = {}) =>
  spawnSync(process.execPath, ['-e', script], {
    encoding: 'utf8',
    env: {
      PATH: process.env.PATH,
      // as the functions set it (lib/constructs/node-function.ts): no Node-version notice on stderr
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      ...(nodePath ? { NODE_PATH: nodePath } : {}),
      ...extraEnv,
    },
  });

interface FunctionCoverage {
  ranges: { startOffset: number; count: number }[];
}

/**
 * The packages whose code ran in the layer while `script` ran: V8's precise coverage of the layer's
 * file (NODE_V8_COVERAGE), each function that ran mapped to its package by the layer's source map.
 */
function layerPackagesRun(script: string, env: Record<string, string> = {}): string[] {
  const covDir = mkdtempSync(join(tmp, 'coverage-'));
  const r = load(script, layerModules, { ...env, NODE_V8_COVERAGE: covDir });
  expect(r.stderr).toBe('');
  const layerFile = join(layerModules, SDK_MODULE, 'index.js');
  const url = pathToFileURL(layerFile).href;
  const functions = readdirSync(covDir)
    .flatMap(
      (f) =>
        JSON.parse(readFileSync(join(covDir, f), 'utf8')).result as {
          url: string;
          functions: FunctionCoverage[];
        }[],
    )
    .find((s) => s.url === url)?.functions;
  expect(functions).toBeDefined();
  const text = readFileSync(layerFile, 'utf8');
  const lineStarts = [0];
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) lineStarts.push(i + 1);
  const map = new SourceMap(JSON.parse(readFileSync(`${layerFile}.map`, 'utf8')));
  const packages = new Set<string>();
  for (const fn of functions ?? []) {
    const range = fn.ranges[0];
    // offset 0 is the file's top level, which runs on every load
    if (!range || range.count === 0 || range.startOffset === 0) continue;
    const line = lineStarts.findLastIndex((s) => s <= range.startOffset);
    const column = range.startOffset - (lineStarts[line] ?? 0);
    const entry = map.findEntry(line, column) as {
      originalSource?: string;
      generatedLine?: number;
      generatedColumn?: number;
    };
    // Only a function the map places exactly: esbuild's own wrappers (a module's lazy init) have no
    // mapping of their own, and the nearest one before them is another module's code.
    if (entry.generatedLine !== line || entry.generatedColumn !== column) continue;
    const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(entry.originalSource ?? '')?.[1];
    if (pkg) packages.add(pkg);
  }
  return [...packages].sort();
}

it('loads a function bundle with the layer on NODE_PATH, and exports its handler', () => {
  const r = load(
    `const m = require(${JSON.stringify(join(fnDir, 'index.js'))}); process.stdout.write(typeof m.handler);`,
    layerModules,
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
    layerModules,
  );
  expect(JSON.parse(r.stdout)).toEqual(Object.keys(sdk).sort());
});

describe('the layer evaluates an SDK package on first use', () => {
  const S3_PACKAGES = ['@aws-sdk/client-s3', '@aws-sdk/lib-storage', '@aws-sdk/s3-request-presigner'];

  it('runs no SDK code while a function loads (Lambda init)', () => {
    expect(layerPackagesRun(`require(${JSON.stringify(join(fnDir, 'index.js'))});`)).toEqual([]);
  });

  it('runs DynamoDB client code, and none of S3 or the other clients, for a DynamoDB client', () => {
    const ran = layerPackagesRun(
      `const s = require('${SDK_MODULE}');
       s.DynamoDBDocumentClient.from(new s.DynamoDBClient({ region: 'eu-west-1' }));`,
    );
    expect(ran).toEqual(expect.arrayContaining(['@aws-sdk/client-dynamodb', '@aws-sdk/lib-dynamodb']));
    for (const other of [
      ...S3_PACKAGES,
      '@aws-sdk/client-sfn',
      '@aws-sdk/client-eventbridge',
      '@aws-sdk/client-secrets-manager',
    ])
      expect(ran).not.toContain(other);
  });

  it("makes only the clients a function's request uses (lambdas/shared/deps.ts)", async () => {
    // get-run reads the API keys first; Secrets Manager refuses the connection, so that is all
    const port = await new Promise<number>((resolve) => {
      const srv = createServer().listen(0, '127.0.0.1', () => {
        const { port } = srv.address() as AddressInfo;
        srv.close(() => resolve(port));
      });
    });
    const event = { rawPath: '/run', headers: {}, requestContext: { http: { method: 'GET' } } };
    const ran = layerPackagesRun(
      `require(${JSON.stringify(join(fnDir, 'index.js'))})
         .handler(${JSON.stringify(event)}, { awsRequestId: 'test', functionName: 'get-run' })
         .then((r) => { if (r.statusCode !== 503) throw new Error(JSON.stringify(r)); });`,
      {
        AWS_REGION: 'us-east-1',
        AWS_ACCESS_KEY_ID: 'test',
        AWS_SECRET_ACCESS_KEY: 'test',
        AWS_ENDPOINT_URL_SECRETS_MANAGER: `http://127.0.0.1:${port}`,
        AWS_MAX_ATTEMPTS: '1',
        POWERTOOLS_LOG_LEVEL: 'SILENT',
        POWERTOOLS_METRICS_DISABLED: 'true',
        RESULTS_BUCKET: 'results',
        STATE_MACHINE_ARN: 'arn:aws:states:us-east-1:123456789012:stateMachine:assembly',
        REAPER_RULE_NAME: 'reaper',
        OPERATOR_KEY_SECRET_ARN: 'operator',
        RUNNER_KEY_SECRET_ARN: 'runner',
      },
    );
    expect(ran).toContain('@aws-sdk/client-secrets-manager');
    for (const other of [
      ...S3_PACKAGES,
      '@aws-sdk/client-dynamodb',
      '@aws-sdk/client-sfn',
      '@aws-sdk/client-eventbridge',
    ])
      expect(ran).not.toContain(other);
  });

  it('runs S3 code for an S3 client (the check above can see S3 code run)', () => {
    const ran = layerPackagesRun(
      `const s = require('${SDK_MODULE}'); new s.S3Client({ region: 'eu-west-1' });`,
    );
    expect(ran).toContain('@aws-sdk/client-s3');
    expect(ran).not.toContain('@aws-sdk/client-dynamodb');
  });
});

describe('the build-archive bundle, archiver with its unused modules stubbed', () => {
  it('loads with the layer and exports its handler', () => {
    const { fnDir: archiveFn } = synthFunction('assembly-build-archive');
    const file = join(archiveFn, 'index.js');
    expect(readFileSync(file, 'utf8')).toContain('left out of the Lambda bundles');
    const r = load(`process.stdout.write(typeof require(${JSON.stringify(file)}).handler);`, layerModules);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('function');
  }, 120_000);

  it('builds a tar.gz from result tarballs into S3 (s3rver) through the layer', async () => {
    const s3 = await startS3();
    try {
      const runId = 1_763_940_000;
      const records = [1, 2].map((run, i) =>
        taskRecord(runId, i, { run, s3_result_key: storageKeys.result(runId, runId * 100_000 + i + 1) }),
      );
      for (const [i, t] of records.entries()) {
        await putBytes(
          s3,
          t.s3_result_key ?? '',
          await makeTarball([
            { name: 'output.txt', data: `run ${i + 1}\n` },
            { name: 'logs/bench.log', data: 'log\n' },
          ]),
        );
      }
      const outfile = join(tmp, 'bundled-archive', 'index.js');
      await build({
        ...lambdaBuildOptions('layer'),
        entryPoints: [join(__dirname, 'fixtures', 'bundled-archive.ts')],
        outfile,
      });
      const input: BundledArchiveInput = {
        endpoint: s3.endpoint,
        bucket: BUCKET,
        run: {
          run_id: runId,
          ruby_version: '3.4.7',
          status: 'complete',
          config: { ruby_version: '3.4.7', runs_per_instance_type: 2 },
          created_at: '2026-11-24T00:00:00.000Z',
          finished_at: '2026-11-24T01:30:00.000Z',
        },
        tasks: records.map(toListed),
        archiveKey: storageKeys.archive(runId),
        now: '2026-11-24T02:00:00.000Z',
      };
      // async: the child talks to s3rver, which runs in this process
      const r = await new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
        const { spawn } = require('node:child_process') as typeof import('node:child_process');
        const child = spawn(process.execPath, [outfile, JSON.stringify(input)], {
          env: {
            PATH: process.env.PATH,
            NODE_PATH: layerModules,
            AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
          },
        });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (c: Buffer) => {
          stdout += c.toString();
        });
        child.stderr.on('data', (c: Buffer) => {
          stderr += c.toString();
        });
        child.on('close', (status) => resolve({ status, stdout, stderr }));
      });
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({ tasks: 2, files: 4, assembly_errors: 0 });
      const stream = await s3.store.getStream(storageKeys.archive(runId));
      if (!stream) throw new Error('no archive in S3');
      const entries = await readArchive(stream);
      expect(entries.map((e) => e.name).sort()).toEqual(
        [
          'manifest.json',
          'c7g.large-1/output.txt',
          'c7g.large-1/logs/bench.log',
          'c7g.large-2/output.txt',
          'c7g.large-2/logs/bench.log',
        ].sort(),
      );
      expect(entries.find((e) => e.name === 'c7g.large-2/output.txt')?.data.toString()).toBe('run 2\n');
    } finally {
      await s3.close();
    }
  }, 120_000);
});
