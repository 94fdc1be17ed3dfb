// A recording HTTP proxy between one runner process and the local API: every call the runner makes
// and the API's answer to it, in the order the API answered, and a way to hold some requests back
// (a slow network for them) until a condition, so a test can decide which of two racing calls
// reaches the API first.
import { createServer, request as httpRequest, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ProxiedCall {
  method: string;
  path: string;
  /** the request body as the runner sent it (JSON text) */
  sent: string;
  status: number;
  /** the API's answer body */
  answer: string;
  /** the request had been held back before it was forwarded */
  held: boolean;
}

export interface ApiProxy {
  url: string;
  /** calls the API has answered, in the order of their answers */
  calls: ProxiedCall[];
  /**
   * Holds requests for which `match` is true (method, path) and forwards them, in order, once
   * `until` settles; the first one to come resolves `holding`.
   */
  hold(match: (method: string, path: string) => boolean, until: Promise<unknown>): { holding: Promise<void> };
  /** Resolves with the first answered call that `match` accepts (one already answered included). */
  answered(match: (c: ProxiedCall) => boolean): Promise<ProxiedCall>;
  close(): Promise<void>;
}

export async function startApiProxy(target: string): Promise<ApiProxy> {
  const upstream = new URL(target);
  const calls: ProxiedCall[] = [];
  const waiters: Array<{ match: (c: ProxiedCall) => boolean; resolve: (c: ProxiedCall) => void }> = [];
  const rules: Array<{ match: (m: string, p: string) => boolean; gate: Promise<void>; first: () => void }> =
    [];

  const forward = (
    req: IncomingMessage,
    sent: string,
    held: boolean,
  ): Promise<ProxiedCall & { headers: Record<string, string> }> =>
    new Promise((resolve, reject) => {
      const headers = { ...req.headers, host: upstream.host };
      delete headers['content-length'];
      const out = httpRequest(
        {
          host: upstream.hostname,
          port: upstream.port,
          method: req.method,
          path: req.url,
          headers: { ...headers, 'content-length': String(Buffer.byteLength(sent)) },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () =>
            resolve({
              method: req.method ?? 'GET',
              path: req.url ?? '/',
              sent,
              status: res.statusCode ?? 0,
              answer: Buffer.concat(chunks).toString('utf8'),
              held,
              headers: { 'content-type': String(res.headers['content-type'] ?? 'application/json') },
            }),
          );
          res.on('error', reject);
        },
      );
      out.on('error', reject);
      out.end(sent);
    });

  const server = createServer((req, res) => {
    void (async () => {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const sent = Buffer.concat(chunks).toString('utf8');
      const method = req.method ?? 'GET';
      const path = req.url ?? '/';
      const rule = rules.find((r) => r.match(method, path));
      if (rule) {
        rule.first();
        await rule.gate;
      }
      const { headers, ...call } = await forward(req, sent, rule !== undefined);
      calls.push(call);
      for (const w of waiters.filter((x) => x.match(call))) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(call);
      }
      res.writeHead(call.status, headers);
      res.end(call.answer);
    })().catch(() => {
      // the API went away under a forwarded call: the runner sees a dropped connection, as it would
      res.destroy();
    });
  });
  const port = await new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });

  return {
    url: `http://127.0.0.1:${port}`,
    calls,
    hold(match, until) {
      let first: () => void = () => undefined;
      const holding = new Promise<void>((resolve) => {
        first = resolve;
      });
      const gate = until.then(
        () => undefined,
        () => undefined,
      );
      const rule = { match, gate, first };
      rules.push(rule);
      // once the gate opens the rule is over: later requests go straight through
      void gate.then(() => rules.splice(rules.indexOf(rule), 1));
      return { holding };
    },
    answered(match) {
      const done = calls.find(match);
      if (done) return Promise.resolve(done);
      return new Promise((resolve) => waiters.push({ match, resolve }));
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
