// A registry that answers manifest HEADs as Docker Hub does: 401 with a Bearer challenge without a
// token, an anonymous token from its realm, then 200 for the images it holds and 404 for a tag it
// does not. `start`'s image check asks it through BENCHFLEET_REGISTRY_URL.
import { createServer, type Server } from 'node:http';
import { listenLocal, stopServer } from './local-server';

export class FakeRegistry {
  /** `repo:reference` of every image held, e.g. `library/ruby:3.4.7`. */
  readonly images = new Set<string>();
  /** `METHOD path` of every request, in order. */
  readonly requests: string[] = [];
  /** An answer status to give every manifest request instead (e.g. 500), or 'hang'. */
  fail: number | 'hang' | undefined;
  private server: Server | undefined;
  url = '';

  constructor(images: string[] = []) {
    for (const i of images) this.images.add(i);
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://x');
      this.requests.push(`${req.method} ${url.pathname}`);
      if (url.pathname === '/token') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ token: `anon ${url.searchParams.get('scope')}` }));
        return;
      }
      const m = /^\/v2\/(.+)\/manifests\/([^/]+)$/.exec(url.pathname);
      if (!m) {
        res.writeHead(404).end();
        return;
      }
      if (this.fail === 'hang') return;
      if (this.fail !== undefined) {
        res.writeHead(this.fail).end();
        return;
      }
      const [, repo, reference] = m;
      const scope = `repository:${repo}:pull`;
      if (req.headers.authorization !== `Bearer anon ${scope}`) {
        res.writeHead(401, {
          'www-authenticate': `Bearer realm="${this.url}/token",service="registry.fake",scope="${scope}"`,
        });
        res.end();
        return;
      }
      res.writeHead(this.images.has(`${repo}:${reference}`) ? 200 : 404).end();
    });
    this.url = `http://127.0.0.1:${await listenLocal(this.server)}`;
    return this;
  }

  stop(): Promise<void> {
    return stopServer(this.server);
  }
}
