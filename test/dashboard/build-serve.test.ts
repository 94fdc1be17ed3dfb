import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { buildDashboardInto, type DashboardServer, serveDashboard } from '../../dashboard/serve';

const BUDGET = 50 * 1024; // the limit for the whole page, gzipped

describe('dashboard build and local server', () => {
  const distDir = mkdtempSync(join(tmpdir(), 'dashboard-build-'));
  let server: DashboardServer;

  beforeAll(async () => {
    const printed = await buildDashboardInto(distDir);
    expect(printed).toMatch(/dashboard: [\d.]+ KB gzipped in total \(budget 50\.0 KB\)/);
    server = await serveDashboard({ apiUrl: 'http://127.0.0.1:4010/', distDir });
  });
  afterAll(async () => {
    await server.stop();
    rmSync(distDir, { recursive: true, force: true });
  });

  it('builds three files under the size budget', () => {
    expect(readdirSync(distDir).sort()).toEqual(['app.js', 'index.html', 'styles.css']);
    const gzipped = readdirSync(distDir).reduce(
      (n, f) => n + gzipSync(readFileSync(join(distDir, f)), { level: 9 }).length,
      0,
    );
    expect(gzipped).toBeLessThan(BUDGET);
  });

  it('bundles one script that carries no zod and no source paths', () => {
    const js = readFileSync(join(distDir, 'app.js'), 'utf8');
    expect(js).toContain('config.json');
    expect(js).not.toMatch(/ZodError|lambdas\/shared/);
    const html = readFileSync(join(distDir, 'index.html'), 'utf8');
    expect(html).toContain('src="app.js"');
  });

  it('serves the page at /dashboard/ on loopback, with config.json pointing at the API', async () => {
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/dashboard\/$/);
    const page = await fetch(server.url);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');
    const cfg = await fetch(new URL('config.json', server.url));
    expect(await cfg.json()).toEqual({ apiUrl: 'http://127.0.0.1:4010' });
    const js = await fetch(new URL('app.js', server.url));
    expect(js.headers.get('content-type')).toContain('javascript');
  });

  it('builds the page first when the output folder is empty', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'dashboard-empty-'));
    const fresh = await serveDashboard({
      apiUrl: 'http://127.0.0.1:4011',
      distDir: empty,
      refreshSeconds: 2,
    });
    try {
      expect((await fetch(new URL('app.js', fresh.url))).status).toBe(200);
      expect(await (await fetch(new URL('config.json', fresh.url))).json()).toEqual({
        apiUrl: 'http://127.0.0.1:4011',
        refreshSeconds: 2,
      });
    } finally {
      await fresh.stop();
      rmSync(empty, { recursive: true, force: true });
    }
  });

  it('redirects the bare paths and answers 404 for anything not built', async () => {
    const root = await fetch(new URL('/', server.url), { redirect: 'manual' });
    expect(root.status).toBe(302);
    expect(root.headers.get('location')).toBe('/dashboard/');
    for (const p of [
      '/dashboard/../package.json',
      '/dashboard/%2e%2e/package.json',
      '/dashboard/build.ts',
      '/app.js',
      // names of Object.prototype's properties are not files either
      '/dashboard/constructor',
      '/dashboard/__proto__',
      '/dashboard/toString',
      '/dashboard/hasOwnProperty',
    ]) {
      expect((await fetch(new URL(p, server.url))).status).toBe(404);
    }
    expect((await fetch(server.url, { method: 'POST' })).status).toBe(405);
  });
});
