// A stand-in Docker engine over TCP, for what a real engine cannot be made to do on demand (and for
// machines without one): containers left by a crashed runner, a task whose log files cannot be
// written. Each started container prints `output` on stdout and stderr, writes an output_001.txt
// into the folder bound at /results, then exits with 0.
import { writeFileSync } from 'node:fs';
import { createServer, type Server, type ServerResponse } from 'node:http';
import { listenLocal, stopServer } from '../helpers/local-server';

export interface FakeContainer {
  Id: string;
  Labels: Record<string, string>;
  State: 'created' | 'running' | 'exited';
  /** The host folder bound at /results. */
  results?: string;
  attach?: ServerResponse;
  waits: ServerResponse[];
}

/** Docker's multiplexed stream frame: 1 = stdout, 2 = stderr. */
const frame = (type: 1 | 2, s: string): Buffer => {
  const b = Buffer.from(s);
  const h = Buffer.alloc(8);
  h.writeUInt8(type, 0);
  h.writeUInt32BE(b.length, 4);
  return Buffer.concat([h, b]);
};

export class FakeDocker {
  host = '';
  readonly containers = new Map<string, FakeContainer>();
  /** The labels of every container created through the API. */
  readonly created: Array<Record<string, string>> = [];
  /** The NetworkMode each container was created with. */
  readonly networkModes: string[] = [];
  /** Every request, as "METHOD /path", in order. */
  readonly calls: string[] = [];
  /** What each container prints. */
  output = { stdout: 'Running benchmark "fib" (1/1)\n', stderr: 'a line on stderr\n' };
  /** Started containers run until killed, rather than exiting at once. */
  hold = false;
  /** Every request is taken and never answered: an engine that hangs. */
  hang = false;
  /** Container inspects report State.OOMKilled (the kernel's OOM killer ended the container). */
  oomKilled = false;
  /** The status a container that ends by itself exits with, and whether it writes its output. */
  exitStatus = 0;
  writesOutput = true;
  /** How the `bridge` network's inspect answers: there (200), absent (404), or failing (500). */
  bridge: 200 | 404 | 500 = 200;
  /** What an image inspect gives as RepoDigests (a pulled image's registry digests). */
  repoDigests: string[] = [];
  /**
   * Images the engine does not have until they are pulled (POST /images/create, which answers
   * progress lines over `pullMs`); unset, every image is there.
   */
  absentImages?: Set<string>;
  pullMs = 300;
  /** Pulls that fail, answering this error line (as a registry refusal arrives: in the stream). */
  pullError?: string;
  /** Called with each request as it comes ("METHOD /path"). */
  onCall?: (call: string) => void;
  private server?: Server;
  private seq = 0;

  /** A container as a crashed runner would have left it, still running. */
  leave(labels: Record<string, string>): string {
    const Id = `orphan${++this.seq}`.padEnd(64, '0');
    this.containers.set(Id, { Id, Labels: labels, State: 'running', waits: [] });
    return Id;
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => this.handle(req.method ?? '', req.url ?? '', Buffer.concat(chunks), res));
    });
    this.host = `tcp://127.0.0.1:${await listenLocal(this.server)}`;
    return this;
  }

  stop(): Promise<void> {
    return stopServer(this.server);
  }

  private handle(method: string, rawUrl: string, body: Buffer, res: ServerResponse) {
    const url = new URL(rawUrl, 'http://x');
    const path = url.pathname.replace(/^\/v[\d.]+/, '');
    this.calls.push(`${method} ${path}`);
    this.onCall?.(`${method} ${path}`);
    if (this.hang) return;
    const json = (code: number, b: unknown): void => {
      res.writeHead(code, { 'content-type': 'application/json' });
      res.end(JSON.stringify(b));
    };
    if (path === '/version') return json(200, { Version: '99.0.0-fake' });
    if (path === '/images/create' && method === 'POST') {
      const image = `${url.searchParams.get('fromImage')}:${url.searchParams.get('tag') ?? 'latest'}`;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write(`${JSON.stringify({ status: `Pulling from ${image}`, id: 'layer1' })}\n`);
      setTimeout(() => {
        if (this.pullError) return res.end(`${JSON.stringify({ error: this.pullError })}\n`);
        this.absentImages?.delete(image);
        res.end(`${JSON.stringify({ status: `Status: Downloaded newer image for ${image}` })}\n`);
      }, this.pullMs);
      return;
    }
    if (path.startsWith('/images/')) {
      const image = decodeURIComponent(path.slice('/images/'.length).replace(/\/json$/, ''));
      if (this.absentImages?.has(image)) return json(404, { message: `No such image: ${image}` });
      return json(200, { Id: 'sha256:fake', RepoDigests: this.repoDigests });
    }
    if (path.startsWith('/networks/'))
      return this.bridge === 200
        ? json(200, { Name: 'bridge' })
        : json(this.bridge, { message: this.bridge === 404 ? 'network bridge not found' : 'engine trouble' });
    if (path === '/containers/json') {
      const filters = JSON.parse(url.searchParams.get('filters') ?? '{}') as { label?: string[] };
      const list = [...this.containers.values()].filter((c) =>
        (filters.label ?? []).every((l) => {
          const [k, v] = l.split('=');
          return k !== undefined && k in c.Labels && (v === undefined || c.Labels[k] === v);
        }),
      );
      return json(
        200,
        list.map((c) => ({ Id: c.Id, Labels: c.Labels, State: c.State })),
      );
    }
    if (path === '/containers/create') {
      const spec = JSON.parse(body.toString('utf8') || '{}') as {
        Labels?: Record<string, string>;
        HostConfig?: { Binds?: string[]; NetworkMode?: string };
      };
      this.networkModes.push(spec.HostConfig?.NetworkMode ?? '');
      const Id = `task${++this.seq}`.padEnd(64, '0');
      const results = spec.HostConfig?.Binds?.find((b) => b.endsWith(':/results'))?.slice(
        0,
        -':/results'.length,
      );
      this.containers.set(Id, { Id, Labels: spec.Labels ?? {}, State: 'created', waits: [], results });
      this.created.push(spec.Labels ?? {});
      return json(201, { Id });
    }
    const m = /^\/containers\/([^/]+)(?:\/(attach|start|wait|kill|json))?$/.exec(path);
    const c = m?.[1] ? this.containers.get(m[1]) : undefined;
    if (!m || !c) return json(404, { message: `no such container or route: ${path}` });
    switch (m[2]) {
      case 'json':
        return json(200, { Id: c.Id, State: { Status: c.State, OOMKilled: this.oomKilled } });
      case 'attach':
        res.writeHead(200, { 'content-type': 'application/vnd.docker.raw-stream' });
        res.flushHeaders();
        c.attach = res;
        return;
      case 'start':
        c.State = 'running';
        res.writeHead(204);
        res.end();
        setTimeout(() => {
          if (this.hold) return;
          c.attach?.write(frame(1, this.output.stdout));
          c.attach?.write(frame(2, this.output.stderr));
          if (c.results && this.writesOutput)
            writeFileSync(`${c.results}/output_001.txt`, 'fib  1.0 ± 0.0%\n');
          this.exit(c, this.exitStatus);
        }, 50);
        return;
      case 'wait':
        if (c.State === 'exited') return json(200, { StatusCode: this.exitStatus });
        c.waits.push(res);
        return;
      case 'kill':
        this.exit(c, 137);
        res.writeHead(204);
        res.end();
        return;
      default:
        if (method !== 'DELETE') return json(404, { message: `no route ${method} ${path}` });
        if (c.State === 'running') {
          // as Docker: a running container is removed only by force, which kills it first
          if (url.searchParams.get('force') !== 'true')
            return json(409, { message: `You cannot remove a running container ${c.Id}` });
          this.exit(c, 137);
        }
        this.containers.delete(c.Id);
        res.writeHead(204);
        res.end();
    }
  }

  private exit(c: FakeContainer, code: number): void {
    c.State = 'exited';
    c.attach?.end();
    for (const w of c.waits.splice(0)) {
      w.writeHead(200, { 'content-type': 'application/json' });
      w.end(JSON.stringify({ StatusCode: code }));
    }
  }
}
