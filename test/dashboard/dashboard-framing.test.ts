// Clickjacking: the page has keyed actions ("End run"), so no other page may show it in a frame.
// The local server says so by header; the page itself refuses to start where no header does.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { BrowserContext, Frame } from 'playwright-core';
import { type DashboardServer, serveDashboard } from '../../dashboard/serve';
import { FakeApi } from './helpers/fake-api';
import { type DashboardHarness, dashboardHarness } from './helpers/page';

// chromium on a shared 2-core machine can be slow to start; the default 60 s is tight under load
jest.setTimeout(120_000);

const FRAMING_HEADERS = ['content-security-policy', 'x-frame-options'];

describe('the dashboard inside another page', () => {
  let h: DashboardHarness;
  let api: FakeApi;
  let server: DashboardServer;
  let context: BrowserContext;
  /**
   * A page of another origin (another port of loopback) with the dashboard in a frame. A real
   * server: chromium blocks a frame to loopback from a page the test answers itself (no address,
   * so "public"), whatever headers the dashboard sends.
   */
  let other: Server;
  let otherPage: string;

  beforeAll(async () => {
    h = await dashboardHarness();
    api = new FakeApi();
    await api.listen();
    api.startRun(1764000000, [['aws', 'c7g.large']], 2);
    server = await serveDashboard({ apiUrl: api.url, distDir: h.distDir, refreshSeconds: 1 });
    other = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(
        `<!doctype html><title>other</title><iframe src="${server.url}" width="1200" height="800"></iframe>`,
      );
    });
    await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve));
    otherPage = `http://127.0.0.1:${(other.address() as AddressInfo).port}/`;
  });
  afterAll(async () => {
    await new Promise((resolve) => other.close(resolve));
    await server.stop();
    await api.close();
    await h.close();
  });
  beforeEach(async () => {
    context = await h.browser.newContext();
  });
  afterEach(() => context.close());

  async function framed(): Promise<Frame> {
    const page = await context.newPage();
    await page.goto(otherPage);
    const frame = page.frames().find((f) => f !== page.mainFrame());
    if (!frame) throw new Error(`${otherPage} shows no frame`);
    await frame.waitForLoadState();
    return frame;
  }

  it('is sent with headers that forbid framing, as is every other answer of the local server', async () => {
    for (const path of ['', 'app.js', 'styles.css', 'config.json', 'not-built.html']) {
      const res = await fetch(new URL(path, server.url));
      expect([path, res.headers.get('content-security-policy'), res.headers.get('x-frame-options')]).toEqual([
        path,
        "frame-ancestors 'none'",
        'DENY',
      ]);
      // the headers it sent before stay
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    }
    const redirect = await fetch(new URL('/', server.url), { redirect: 'manual' });
    expect(redirect.status).toBe(302);
    expect(redirect.headers.get('content-security-policy')).toBe("frame-ancestors 'none'");
  });

  it('is not shown in a frame of another origin', async () => {
    const frame = await framed();
    // chromium replaces a refused frame with its error page
    expect(frame.url()).not.toBe(server.url);
    expect(await frame.locator('#stop-button').count()).toBe(0);
  });

  it('refuses to start inside a frame when the host sends no header against it', async () => {
    // a host that cannot set headers (a plain static bucket)
    await context.route(`${server.url}**`, async (route) => {
      const res = await route.fetch();
      const headers = Object.fromEntries(
        Object.entries(res.headers()).filter(([k]) => !FRAMING_HEADERS.includes(k.toLowerCase())),
      );
      await route.fulfill({ response: res, headers });
    });
    const apiCalls: string[] = [];
    context.on('request', (req) => {
      if (req.url().startsWith(api.url)) apiCalls.push(req.url());
    });
    const frame = await framed();
    expect(frame.url()).toBe(server.url);
    // whatever the page shows first (the refusal, an outage notice, the run): no waiting for a timeout
    await frame.waitForFunction(
      () => !document.getElementById('notice')?.hidden || !document.getElementById('run')?.hidden,
    );
    expect(await frame.locator('#notice-text').textContent()).toBe(
      'This page does not run inside a frame of another page: open it in its own tab.',
    );
    expect(await frame.locator('#run').isHidden()).toBe(true);
    expect(await frame.locator('#loading').isHidden()).toBe(true);
    expect(apiCalls).toEqual([]);
  });
});
