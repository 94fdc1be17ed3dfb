// A real `benchfleet local --serve --data-dir` process for chaos runs, in a process group of its own
// with its stand-ins (dynalite and s3rver, forked by it), so a crash is one SIGKILL to the group;
// and raw snapshots of what its data dir holds: every table item (a full Scan) and every object
// (key, ETag, size), read from the running stand-ins or, once the process is gone, from the disk.
import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { DynamoDBClient, ListTablesCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { dynamoClientConfig } from '../../lambdas/adapters/dynamodb-run-store';
import { LOCAL_BUCKET, startLocalServices } from '../../lambdas/adapters/local/services';
import { s3ClientConfig } from '../../lambdas/adapters/s3-result-store';
import { DEFAULT_TABLE_NAME } from '../../lambdas/shared/table';
import { waitFor } from '../helpers/api';

const ROOT = join(__dirname, '..', '..');

export class LocalProcess {
  readonly child: ChildProcess;
  stderr = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private gone = false;

  constructor(args: string[]) {
    this.child = spawn(process.execPath, [join(ROOT, 'bin', 'benchfleet.js'), 'local', '--serve', ...args], {
      cwd: ROOT,
      detached: true, // its own process group: the stand-ins it forks are in it too
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, POWERTOOLS_LOG_LEVEL: 'WARN' },
    });
    this.child.stderr?.on('data', (d) => {
      this.stderr += d;
    });
    this.exited = new Promise((resolve) =>
      this.child.on('close', (code, signal) => {
        this.gone = true;
        resolve({ code, signal });
      }),
    );
  }

  get pid(): number {
    return this.child.pid as number;
  }

  /** The API's URL once it serves (it prints it, then "Serving until Ctrl-C."). */
  async serving(ms = 120_000): Promise<string> {
    await waitFor(
      'benchfleet local --serve to serve',
      async () => {
        if (this.gone) throw new Error(`benchfleet local exited before serving; stderr:\n${this.stderr}`);
        return /Serving until Ctrl-C\./.test(this.stderr);
      },
      ms,
    );
    return (this.stderr.match(/API: +(http:\/\/127\.0\.0\.1:\d+)/) as RegExpMatchArray)[1] as string;
  }

  /** The stand-ins' process: the child of this one running stand-ins.cjs. */
  standInsPid(): number {
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
        const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
        if (ppid === this.pid && readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes('stand-ins.cjs'))
          return Number(entry);
      } catch {
        // gone meanwhile
      }
    }
    throw new Error(`no stand-ins process under benchfleet local (pid ${this.pid})`);
  }

  /** SIGSTOP to the API process alone: it makes no further call; its stand-ins go on answering. */
  freeze(): void {
    process.kill(this.pid, 'SIGSTOP');
  }

  thaw(): void {
    process.kill(this.pid, 'SIGCONT');
  }

  /** A crash: SIGKILL to the whole process group (the API and its stand-ins), nothing runs after. */
  crash(): void {
    process.kill(-this.pid, 'SIGKILL');
  }

  /** Test cleanup: whatever is left of the group, killed. */
  kill(): void {
    try {
      process.kill(-this.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

/** True when no process `pid` is left (a zombie waiting for its reaper counts as gone). */
export function processGone(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return true;
  }
}

/** The TCP ports a process listens on (its socket inodes matched in /proc/<pid>/net/tcp). */
function listeningPorts(pid: number): number[] {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = readlinkSync(`/proc/${pid}/fd/${fd}`).match(/^socket:\[(\d+)\]$/);
      if (m) inodes.add(m[1] as string);
    } catch {
      // closed meanwhile
    }
  }
  const ports: number[] = [];
  for (const table of ['tcp', 'tcp6']) {
    let text = '';
    try {
      text = readFileSync(`/proc/${pid}/net/${table}`, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      // local_address is ip:port in hex; st 0A is LISTEN; field 9 is the inode
      if (f.length > 9 && f[3] === '0A' && inodes.has(f[9] as string))
        ports.push(Number.parseInt((f[1] as string).split(':')[1] as string, 16));
    }
  }
  return ports;
}

const region = 'us-east-1';

export interface DataClients {
  ddb: DynamoDBClient;
  s3: S3Client;
  destroy(): void;
}

function clientsFor(ddbEndpoint: string, s3Endpoint: string): DataClients {
  const ddb = new DynamoDBClient(
    dynamoClientConfig({
      endpoint: ddbEndpoint,
      region,
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      maxAttempts: 1,
    }),
  );
  const s3 = new S3Client(
    s3ClientConfig({
      endpoint: s3Endpoint,
      region,
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
      forcePathStyle: true,
    }),
  );
  return {
    ddb,
    s3,
    destroy: () => {
      ddb.destroy();
      s3.destroy();
    },
  };
}

/**
 * SDK clients on the stand-ins of a running `benchfleet local` (it does not print their ports): its
 * two listening ports, told apart by which one answers DynamoDB's ListTables.
 */
export async function clientsOfRunning(standInsPid: number): Promise<DataClients> {
  const ports = listeningPorts(standInsPid);
  if (ports.length !== 2) throw new Error(`the stand-ins listen on ${ports.join(', ')}, not two ports`);
  for (const [ddbPort, s3Port] of [ports, [...ports].reverse()] as Array<[number, number]>) {
    const c = clientsFor(`http://127.0.0.1:${ddbPort}`, `http://127.0.0.1:${s3Port}`);
    const tables: string[] = await c.ddb
      .send(new ListTablesCommand({}))
      .then((r) => r.TableNames ?? [])
      .catch(() => []);
    if (tables.includes(DEFAULT_TABLE_NAME)) return c;
    c.destroy();
  }
  throw new Error(`neither of ports ${ports.join(', ')} answers as the local DynamoDB`);
}

export type Item = Record<string, unknown> & { pk: string; sk: string };
export interface ObjectEntry {
  key: string;
  etag: string;
  size: number;
}
export interface Snapshot {
  /** every item of the table, by pk then sk */
  items: Item[];
  /** every object of the results bucket, by key */
  objects: ObjectEntry[];
}

/** Number and string sets as sorted arrays: comparable, and readable in a diff. */
function plain(v: unknown): unknown {
  if (v instanceof Set) return [...v].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  if (Array.isArray(v)) return v.map(plain);
  if (v && typeof v === 'object')
    return Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, plain(x)]));
  return v;
}

export async function scanTable(ddb: DynamoDBClient): Promise<Item[]> {
  const items: Item[] = [];
  let start: Record<string, never> | undefined;
  do {
    const page = await ddb.send(
      new ScanCommand({ TableName: DEFAULT_TABLE_NAME, ConsistentRead: true, ExclusiveStartKey: start }),
    );
    for (const raw of page.Items ?? []) items.push(plain(unmarshall(raw)) as Item);
    start = page.LastEvaluatedKey as Record<string, never> | undefined;
  } while (start);
  return items.sort((a, b) => (a.pk + a.sk < b.pk + b.sk ? -1 : a.pk + a.sk > b.pk + b.sk ? 1 : 0));
}

export async function listObjects(s3: S3Client): Promise<ObjectEntry[]> {
  const out: ObjectEntry[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: LOCAL_BUCKET, ContinuationToken: token }));
    for (const o of page.Contents ?? [])
      out.push({ key: o.Key as string, etag: o.ETag as string, size: o.Size as number });
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

export async function snapshot(c: { ddb: DynamoDBClient; s3: S3Client }): Promise<Snapshot> {
  return { items: await scanTable(c.ddb), objects: await listObjects(c.s3) };
}

/**
 * A snapshot of a data dir whose writer has stopped making calls: scans until two in a row agree, so
 * a write the writer sent just before it stopped has landed.
 */
export async function settledSnapshot(c: DataClients): Promise<Snapshot> {
  let before = await snapshot(c);
  for (;;) {
    const now = await snapshot(c);
    if (JSON.stringify(now.items) === JSON.stringify(before.items)) return now;
    before = now;
  }
}

/** What a data dir holds on disk, read by stand-ins of this process (no API) on it. */
export async function snapshotOfDataDir(dataDir: string): Promise<Snapshot> {
  const services = await startLocalServices({ dataDir });
  try {
    return await snapshot(services);
  } finally {
    await services.stop();
  }
}
