// A proxy in front of a real local API that answers with another x-benchfleet-version, as a
// deployment built from another checkout would (undefined: none, as an API from before the header),
// and with a Date header `clockAheadMs` ahead of this machine's, as a deployment seen from a laptop
// whose clock is off would.
import { createServer, type Server } from 'node:http';
import { VERSION_HEADER } from '../../lambdas/shared/build-info';
import { listenLocal, stopServer } from './local-server';

export class VersionProxy {
  version: string | undefined;
  clockAheadMs = 0;
  url = '';
  private server: Server | undefined;

  constructor(private readonly upstream: string) {}

  async start(): Promise<this> {
    const server = createServer(async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const headers: Record<string, string> = {};
      for (const h of ['authorization', 'content-type', 'accept'])
        if (typeof req.headers[h] === 'string') headers[h] = req.headers[h] as string;
      const answer = await fetch(this.upstream + (req.url ?? '/'), {
        method: req.method ?? 'GET',
        headers,
        ...(chunks.length ? { body: Buffer.concat(chunks) } : {}),
      });
      const out: Record<string, string> = { 'content-type': 'application/json' };
      if (this.version !== undefined) out[VERSION_HEADER] = this.version;
      if (this.clockAheadMs) out.date = new Date(Date.now() + this.clockAheadMs).toUTCString();
      res.writeHead(answer.status, out);
      res.end(await answer.text());
    });
    this.server = server;
    this.url = `http://127.0.0.1:${await listenLocal(server)}`;
    return this;
  }

  stop(): Promise<void> {
    return stopServer(this.server);
  }
}
