// The deployed artifacts themselves, built as `cdk synth` builds them (real esbuild, no Docker):
// a function bundle leaves the AWS SDK to the stack's layer, loads with the layer on NODE_PATH as
// Lambda puts /opt/nodejs/node_modules there, and cannot load without it. The layer loads an SDK
// package only when the function first uses it (which files Node loaded, and their source maps),
// and the build-archive bundle, its unused modules stubbed, still writes a tar.gz.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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

/**
 * The packages whose code the layer loaded while `script` ran: the layer's files in Node's module
 * cache at exit, each file's packages named by its source map. A part or chunk holds the code of
 * the packages the same set of parts needs, so S3's code comes only with a part that needs S3.
 */
function layerPackagesLoaded(script: string, env: Record<string, string> = {}): string[] {
  const r = load(
    `process.on('exit', () => process.stdout.write(JSON.stringify(Object.keys(require.cache))));\n${script}`,
    layerModules,
    env,
  );
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  const layerDir = join(layerModules, SDK_MODULE);
  const files = (JSON.parse(r.stdout) as string[]).filter((f) => f.startsWith(layerDir));
  // every file but index.js (the getters, no SDK code) has a map
  expect(files.filter((f) => !existsSync(`${f}.map`))).toEqual([join(layerDir, 'index.js')]);
  const packages = files
    .filter((f) => existsSync(`${f}.map`))
    .flatMap((f) =>
      (JSON.parse(readFileSync(`${f}.map`, 'utf8')) as { sources: string[] }).sources.map(
        (src) => /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(src)?.[1] ?? '',
      ),
    );
  return [...new Set(packages)].filter((p) => p !== '').sort();
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

describe('the layer loads an SDK package on first use', () => {
  const S3_PACKAGES = ['@aws-sdk/client-s3', '@aws-sdk/lib-storage', '@aws-sdk/s3-request-presigner'];

  it('loads no SDK code while a function loads (Lambda init)', () => {
    expect(layerPackagesLoaded(`require(${JSON.stringify(join(fnDir, 'index.js'))});`)).toEqual([]);
  });

  it('loads DynamoDB client code, and none of S3 or the other clients, for a DynamoDB client', () => {
    const loaded = layerPackagesLoaded(
      `const s = require('${SDK_MODULE}');
       new s.DynamoDBClient({ region: 'eu-west-1' });
       s.marshall({ pk: 'x' });`,
    );
    expect(loaded).toEqual(expect.arrayContaining(['@aws-sdk/client-dynamodb', '@aws-sdk/util-dynamodb']));
    for (const other of [
      ...S3_PACKAGES,
      '@aws-sdk/client-sfn',
      '@aws-sdk/client-eventbridge',
      '@aws-sdk/client-secrets-manager',
    ])
      expect(loaded).not.toContain(other);
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
    const loaded = layerPackagesLoaded(
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
    expect(loaded).toContain('@aws-sdk/client-secrets-manager');
    for (const other of [
      ...S3_PACKAGES,
      '@aws-sdk/client-dynamodb',
      '@aws-sdk/client-sfn',
      '@aws-sdk/client-eventbridge',
    ])
      expect(loaded).not.toContain(other);
  });

  it('loads S3 code for an S3 client (the check above can see S3 code)', () => {
    const loaded = layerPackagesLoaded(
      `const s = require('${SDK_MODULE}'); new s.S3Client({ region: 'eu-west-1' });`,
    );
    expect(loaded).toContain('@aws-sdk/client-s3');
    expect(loaded).not.toContain('@aws-sdk/client-dynamodb');
  });
});

describe('the build-archive bundle, archiver with its unused modules stubbed', () => {
  it('loads with the layer and exports its handler', () => {
    const { fnDir: archiveFn } = synthFunction('assembly-build-archive');
    const file = join(archiveFn, 'index.js');
    expect(readFileSync(file, 'utf8')).toContain('left out of the bundle (UNUSED_MODULES');
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
