// The local stand-ins: dynalite (DynamoDB) and s3rver (S3) on 127.0.0.1, in their own process,
// with the table and bucket created from the shared definitions, and SDK clients pointed at them.
import { type ChildProcess, fork } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateTableCommand, DynamoDBClient, ResourceInUseException } from '@aws-sdk/client-dynamodb';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { logger } from '../../shared/logger';
import { DEFAULT_TABLE_NAME, TABLE_SCHEMA } from '../../shared/table';
import { dynamoClientConfig } from '../dynamodb-run-store';
import { s3ClientConfig } from '../s3-result-store';

export const LOCAL_BUCKET = 'benchfleet-results';
const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };
// s3rver accepts only its own fixed key pair
const s3Credentials = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };
// local mode pins its SDK versions; the notice about future Node 22 releases is noise here
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
// CloudWatch metrics (EMF lines on stdout) mean nothing locally
process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
const region = 'us-east-1';

export interface LocalServices {
  ddbEndpoint: string;
  s3Endpoint: string;
  ddb: DynamoDBClient;
  s3: S3Client;
  /** the stand-ins' process (benchmarks count its CPU) */
  standInsPid: number | undefined;
  table: string;
  bucket: string;
  /**
   * Takes s3rver down, open connections included, keeping its port and directory (chaos tests: an
   * S3 outage). DynamoDB and the SDK clients stay up; a call to S3 meanwhile gets ECONNREFUSED.
   */
  stopS3(): Promise<void>;
  /** Brings s3rver back on the same port with the same objects. */
  startS3(): Promise<void>;
  stop(): Promise<void>;
}

/** The stand-ins' process (stand-ins.cjs) and the requests it answers. */
class StandIns {
  private next = 0;
  private readonly pending = new Map<number, { resolve: () => void; reject: (e: Error) => void }>();
  private exited = false;
  private stopping = false;

  readonly pid: number | undefined;

  private constructor(private readonly child: ChildProcess) {
    this.pid = child.pid;
    child.on('message', (msg: { type: string; id?: number; message?: string }) => {
      const p = msg.id === undefined ? undefined : this.pending.get(msg.id);
      if (!p || msg.id === undefined) return;
      this.pending.delete(msg.id);
      this.settleRef();
      if (msg.type === 'done') p.resolve();
      else p.reject(new Error(`local stand-ins: ${msg.message}`));
    });
    child.on('exit', (code, signal) => {
      this.exited = true;
      if (!this.stopping)
        logger.error(
          `the local DynamoDB/S3 stand-ins (pid ${child.pid}) exited (${signal ?? `code ${code}`}): ` +
            'the local API cannot answer until it is restarted',
        );
      for (const p of this.pending.values())
        p.reject(new Error(`the local DynamoDB/S3 stand-ins exited (${signal ?? `code ${code}`})`));
      this.pending.clear();
    });
  }

  static start(config: object): Promise<{ standIns: StandIns; dynamoPort: number; s3Port: number }> {
    const child = fork(join(__dirname, 'stand-ins.cjs'), [JSON.stringify(config)], {
      execArgv: [], // no TypeScript loader, profiler or inspector of the parent's
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      serialization: 'json',
    });
    return new Promise((resolve, reject) => {
      const onExit = (code: number | null): void =>
        reject(new Error(`the local DynamoDB/S3 stand-ins exited at start (code ${code})`));
      child.once('exit', onExit);
      child.once('message', (msg: { type: string; dynamoPort: number; s3Port: number; message?: string }) => {
        child.off('exit', onExit);
        if (msg.type !== 'ready') {
          child.kill();
          return reject(new Error(`cannot start the local DynamoDB/S3 stand-ins: ${msg.message}`));
        }
        const standIns = new StandIns(child);
        standIns.settleRef();
        resolve({ standIns, dynamoPort: msg.dynamoPort, s3Port: msg.s3Port });
      });
    });
  }

  request(type: 'stopS3' | 'startS3' | 'stop'): Promise<void> {
    if (this.exited) return Promise.resolve();
    const id = this.next++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.settleRef();
      this.child.send({ type, id });
    });
  }

  async stop(): Promise<void> {
    if (this.exited) return;
    this.stopping = true; // held until it has exited, so the caller's await is not cut short
    const gone = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    await this.request('stop').catch(() => this.child.kill());
    await gone;
  }

  /** The child keeps this process alive only while a request waits for its answer. */
  private settleRef(): void {
    const channel = this.child.channel as { ref(): void; unref(): void } | undefined;
    if (this.pending.size > 0 || this.stopping) {
      this.child.ref();
      channel?.ref();
    } else {
      this.child.unref();
      channel?.unref();
    }
  }
}

/**
 * Sees the SDK clients before their first call (benchmarks add counting middleware). The clients
 * cache each command's middleware at its first call (cacheMiddleware), so middleware added later
 * does not apply to a command already sent.
 */
export type InstrumentClients = (clients: { ddb: DynamoDBClient; s3: S3Client }) => void;

/**
 * Starts dynalite and s3rver in their own process (as the real services are not in ours); with
 * `dataDir` both keep their state on disk across restarts.
 */
export async function startLocalServices(
  opts: { dataDir?: string; dynamoPort?: number; s3Port?: number; instrument?: InstrumentClients } = {},
): Promise<LocalServices> {
  let s3Dir: string;
  let ownS3Dir: string | undefined; // made here, so removed here by stop()
  const dynaliteOpts: Record<string, unknown> = { createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 };
  if (opts.dataDir) {
    mkdirSync(join(opts.dataDir, 'dynamodb'), { recursive: true });
    mkdirSync(join(opts.dataDir, 's3'), { recursive: true });
    dynaliteOpts.path = join(opts.dataDir, 'dynamodb');
    s3Dir = join(opts.dataDir, 's3');
  } else {
    s3Dir = mkdtempSync(join(tmpdir(), 'benchfleet-s3-'));
    ownS3Dir = s3Dir;
  }
  const removeOwnS3Dir = (): void => {
    if (ownS3Dir) rmSync(ownS3Dir, { recursive: true, force: true });
  };
  const { standIns, dynamoPort, s3Port } = await StandIns.start({
    dynalite: dynaliteOpts,
    dynamoPort: opts.dynamoPort ?? 0,
    s3: { address: '127.0.0.1', silent: true, directory: s3Dir },
    s3Port: opts.s3Port ?? 0,
  }).catch((err: unknown) => {
    removeOwnS3Dir();
    throw err;
  });

  const ddbEndpoint = `http://127.0.0.1:${dynamoPort}`;
  const s3Endpoint = `http://127.0.0.1:${s3Port}`;
  const ddb = new DynamoDBClient(dynamoClientConfig({ endpoint: ddbEndpoint, region, credentials }));
  const s3 = new S3Client(
    s3ClientConfig({ endpoint: s3Endpoint, region, credentials: s3Credentials, forcePathStyle: true }),
  );
  const stop = async (): Promise<void> => {
    ddb.destroy();
    s3.destroy();
    await standIns.stop();
    removeOwnS3Dir();
  };
  opts.instrument?.({ ddb, s3 });
  try {
    await createTable(ddb, DEFAULT_TABLE_NAME);
    await s3.send(new CreateBucketCommand({ Bucket: LOCAL_BUCKET })).catch((err: { name?: string }) => {
      if (err.name !== 'BucketAlreadyOwnedByYou' && err.name !== 'BucketAlreadyExists') throw err;
    });
  } catch (err) {
    await stop().catch(() => undefined); // nothing of a failed start outlives it
    throw err;
  }
  return {
    ddbEndpoint,
    s3Endpoint,
    ddb,
    s3,
    table: DEFAULT_TABLE_NAME,
    bucket: LOCAL_BUCKET,
    standInsPid: standIns.pid,
    stopS3: () => standIns.request('stopS3'),
    startS3: () => standIns.request('startS3'),
    stop,
  };
}

export async function createTable(ddb: DynamoDBClient, table: string): Promise<void> {
  try {
    await ddb.send(
      new CreateTableCommand({
        TableName: table,
        AttributeDefinitions: [...TABLE_SCHEMA.attributeDefinitions],
        KeySchema: [...TABLE_SCHEMA.keySchema],
        GlobalSecondaryIndexes: TABLE_SCHEMA.globalSecondaryIndexes.map((g) => ({
          IndexName: g.IndexName,
          KeySchema: [...g.KeySchema],
          Projection: { ...g.Projection },
        })),
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
  } catch (err) {
    if (err instanceof ResourceInUseException || (err as { name?: string }).name === 'ResourceInUseException')
      return;
    throw err;
  }
}
