// The local stand-ins: dynalite (DynamoDB) and s3rver (S3) on 127.0.0.1, with the table and bucket
// created from the shared definitions, and SDK clients pointed at them.
import { mkdirSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { CreateTableCommand, DynamoDBClient, ResourceInUseException } from '@aws-sdk/client-dynamodb';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DOC_CLIENT_OPTIONS } from '../../shared/deps';
import { DEFAULT_TABLE_NAME, TABLE_SCHEMA } from '../../shared/table';
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
  doc: DynamoDBDocumentClient;
  s3: S3Client;
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

interface S3rverLike {
  run(): Promise<AddressInfo>;
  close(): Promise<void>;
  httpServer?: Server;
}

const listen = (server: Server, port: number): Promise<number> =>
  new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });

const close = (server: { close(cb: (err?: Error) => void): unknown }): Promise<void> =>
  new Promise((resolve) => server.close(() => resolve()));

/** Starts dynalite and s3rver; with `dataDir` both keep their state on disk across restarts. */
export async function startLocalServices(
  opts: { dataDir?: string; dynamoPort?: number; s3Port?: number } = {},
): Promise<LocalServices> {
  const dynalite = require('dynalite') as (o: Record<string, unknown>) => Server;
  const S3rver = require('s3rver') as new (o: Record<string, unknown>) => S3rverLike;
  let s3Dir: string;
  const dynaliteOpts: Record<string, unknown> = { createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 };
  if (opts.dataDir) {
    mkdirSync(join(opts.dataDir, 'dynamodb'), { recursive: true });
    mkdirSync(join(opts.dataDir, 's3'), { recursive: true });
    dynaliteOpts.path = join(opts.dataDir, 'dynamodb');
    s3Dir = join(opts.dataDir, 's3');
  } else {
    const { mkdtempSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    s3Dir = mkdtempSync(join(tmpdir(), 'benchfleet-s3-'));
  }
  const ddbServer = dynalite(dynaliteOpts);
  const ddbPort = await listen(ddbServer, opts.dynamoPort ?? 0);
  const s3Options = { address: '127.0.0.1', silent: true, directory: s3Dir };
  let s3rver: S3rverLike | undefined = new S3rver({ ...s3Options, port: opts.s3Port ?? 0 });
  const s3Address = await s3rver.run();
  const stopS3 = async (): Promise<void> => {
    const running = s3rver;
    s3rver = undefined;
    if (!running) return;
    const closed = running.close();
    // close() alone waits for kept-alive sockets, which would go on serving through the "outage"
    running.httpServer?.closeAllConnections();
    await closed;
  };

  const ddbEndpoint = `http://127.0.0.1:${ddbPort}`;
  const s3Endpoint = `http://127.0.0.1:${s3Address.port}`;
  const ddb = new DynamoDBClient({ endpoint: ddbEndpoint, region, credentials });
  const doc = DynamoDBDocumentClient.from(ddb, DOC_CLIENT_OPTIONS);
  const s3 = new S3Client(
    s3ClientConfig({ endpoint: s3Endpoint, region, credentials: s3Credentials, forcePathStyle: true }),
  );
  await createTable(ddb, DEFAULT_TABLE_NAME);
  await s3.send(new CreateBucketCommand({ Bucket: LOCAL_BUCKET })).catch((err: { name?: string }) => {
    if (err.name !== 'BucketAlreadyOwnedByYou' && err.name !== 'BucketAlreadyExists') throw err;
  });
  return {
    ddbEndpoint,
    s3Endpoint,
    ddb,
    doc,
    s3,
    table: DEFAULT_TABLE_NAME,
    bucket: LOCAL_BUCKET,
    stopS3,
    async startS3() {
      if (s3rver) return;
      // a new instance: a closed s3rver has closed its logger and cannot run again
      const next = new S3rver({ ...s3Options, port: s3Address.port });
      await next.run();
      s3rver = next;
    },
    async stop() {
      ddb.destroy();
      s3.destroy();
      await stopS3();
      await close(ddbServer);
    },
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
