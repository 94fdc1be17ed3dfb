// Serves the built dashboard on loopback for the local mode: the files of distDir at /dashboard/,
// and a generated /dashboard/config.json that points the page at the local API.
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { DASHBOARD_SECURITY_HEADERS } from './security-headers';

export interface ServeOptions {
  /** 0 or absent: any free port. */
  port?: number;
  apiUrl: string;
  /** Built files (default dashboard/dist next to this module); (re)built first when missing or older than the sources. */
  distDir?: string;
  /** Poll interval the page uses; the page's default (5 s) when absent. */
  refreshSeconds?: number;
}

export interface DashboardServer {
  /** `http://127.0.0.1:<port>/dashboard/` */
  url: string;
  stop(): Promise<void>;
}

const TYPES: Record<string, string> = {
  'index.html': 'text/html; charset=utf-8',
  'styles.css': 'text/css; charset=utf-8',
  'app.js': 'text/javascript; charset=utf-8',
};

const BUILD_SCRIPT = join(__dirname, '..', 'scripts', 'build-dashboard.mjs');

/**
 * Runs scripts/build-dashboard.mjs in a child node: it is plain ESM (so scripts/build.mjs can import
 * it), which the CommonJS side (jest, tsx) cannot load in-process. Rejects with the script's output.
 */
export async function buildDashboardInto(outDir: string): Promise<string> {
  try {
    const { stdout } = await promisify(execFile)(process.execPath, [BUILD_SCRIPT, outDir]);
    return stdout;
  } catch (err) {
    const e = err as Error & { stdout?: string; stderr?: string };
    throw new Error(`building the dashboard failed: ${e.stderr || e.stdout || e.message}`, { cause: err });
  }
}

/** True when distDir lacks a file, or when the sources beside this module are newer than its script. */
function needsBuild(distDir: string): boolean {
  const built = ['index.html', 'styles.css', 'app.js'].map((f) => join(distDir, f));
  if (!built.every((f) => existsSync(f))) return true;
  const src = join(__dirname, 'src');
  if (!existsSync(src)) return false; // a packaged copy without sources: serve what is there
  const sources = [
    ...readdirSync(src).map((f) => join(src, f)),
    join(__dirname, 'index.html'),
    join(__dirname, 'styles.css'),
  ];
  const builtAt = Math.min(...built.map((f) => statSync(f).mtimeMs));
  return sources.some((f) => existsSync(f) && statSync(f).mtimeMs > builtAt);
}

export async function serveDashboard(opts: ServeOptions): Promise<DashboardServer> {
  const distDir = opts.distDir ?? join(__dirname, 'dist');
  if (needsBuild(distDir)) {
    await buildDashboardInto(distDir);
  }
  const config = JSON.stringify({
    apiUrl: opts.apiUrl.replace(/\/+$/, ''),
    ...(opts.refreshSeconds ? { refreshSeconds: opts.refreshSeconds } : {}),
  });

  const send = (res: ServerResponse, status: number, type: string, body: string | Buffer): void => {
    res.writeHead(status, {
      'Content-Type': type,
      'Cache-Control': 'no-cache',
      ...DASHBOARD_SECURITY_HEADERS,
    });
    res.end(body);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      send(res, 405, 'text/plain; charset=utf-8', 'method not allowed');
      return;
    }
    if (path === '/' || path === '/dashboard') {
      res.writeHead(302, { Location: '/dashboard/', ...DASHBOARD_SECURITY_HEADERS });
      res.end();
      return;
    }
    // a fixed list of names: no path from the request ever reaches the file system
    const name = path === '/dashboard/' ? 'index.html' : path.replace(/^\/dashboard\//, '');
    if (name === 'config.json') {
      send(res, 200, 'application/json', config);
      return;
    }
    // own keys only: `constructor` or `__proto__` must not find Object.prototype's
    const type = Object.hasOwn(TYPES, name) ? TYPES[name] : undefined;
    if (!path.startsWith('/dashboard/') || type === undefined) {
      send(res, 404, 'text/plain; charset=utf-8', 'not found');
      return;
    }
    send(res, 200, type, await readFile(join(distDir, name)));
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      console.error('dashboard server:', err);
      if (!res.headersSent) send(res, 500, 'text/plain; charset=utf-8', 'internal error');
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/dashboard/`,
    stop: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}
