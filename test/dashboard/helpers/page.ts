// Builds the dashboard once per test file, serves it beside an API URL and opens it in chromium.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { buildDashboardInto, type DashboardServer, serveDashboard } from '../../../dashboard/serve';
import { launchBrowser } from '../../helpers/browser';
import { FakeApi } from './fake-api';

export interface OpenOptions {
  /**
   * Fields laid over the served config.json, as the page reads it: `{ timeoutSeconds: 2 }` makes a
   * test of the request timeout take seconds instead of the page's default 10.
   */
  config?: Record<string, unknown>;
}

export interface DashboardHarness {
  browser: Browser;
  distDir: string;
  open(
    apiUrl: string,
    viewport?: { width: number; height: number },
    opts?: OpenOptions,
  ): Promise<OpenDashboard>;
  close(): Promise<void>;
}

export interface OpenDashboard {
  page: Page;
  context: BrowserContext;
  server: DashboardServer;
  /** Console errors and failed page scripts, to assert the page stayed healthy. */
  errors: string[];
  /** Resolves after the page finished `n` more refreshes than now. */
  refreshes(n?: number): Promise<void>;
  close(): Promise<void>;
}

export async function dashboardHarness(): Promise<DashboardHarness> {
  const distDir = mkdtempSync(join(tmpdir(), 'dashboard-dist-'));
  await buildDashboardInto(distDir);
  const browser = await launchBrowser();
  const opened: OpenDashboard[] = [];
  return {
    browser,
    distDir,
    async open(apiUrl, viewport = { width: 1280, height: 900 }, opts = {}) {
      // one second between refreshes keeps the tests short; the page's default is 5 s
      const server = await serveDashboard({ apiUrl, distDir, refreshSeconds: 1 });
      const context = await browser.newContext({ viewport, acceptDownloads: true });
      const extra = opts.config;
      if (extra) {
        await context.route('**/dashboard/config.json', async (route) => {
          const res = await route.fetch();
          await route.fulfill({ response: res, json: { ...(await res.json()), ...extra } });
        });
      }
      const page = await context.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      page.on('console', (m) => {
        // a refused connection is the point of the outage test, not a page bug
        if (m.type() === 'error' && !/ERR_CONNECTION_REFUSED|Failed to load resource/.test(m.text())) {
          errors.push(m.text());
        }
      });
      await page.goto(server.url);
      const count = async (): Promise<number> =>
        Number((await page.evaluate(() => document.body.dataset.refreshes)) ?? 0);
      const handle: OpenDashboard = {
        page,
        context,
        server,
        errors,
        async refreshes(n = 1) {
          const target = (await count()) + n;
          await page.waitForFunction((t) => Number(document.body.dataset.refreshes ?? 0) >= t, target, {
            timeout: 30_000,
          });
        },
        async close() {
          await context.close();
          await server.stop();
        },
      };
      opened.push(handle);
      return handle;
    },
    async close() {
      for (const o of opened) await o.close().catch(() => undefined);
      await browser.close();
      rmSync(distDir, { recursive: true, force: true });
    },
  };
}

/** What one test of a stand-in-API suite works with; `d` is set by the test (`s.d = await s.h.open(…)`). */
export interface FakeApiSuite {
  h: DashboardHarness;
  api: FakeApi;
  d: OpenDashboard;
}

/**
 * Registers the hooks every stand-in-API dashboard suite shares: one browser per file, a fresh
 * FakeApi per test, and after each test no page errors, the page and the API closed.
 */
export function fakeApiSuite(): FakeApiSuite {
  const s = {} as FakeApiSuite;
  beforeAll(async () => {
    s.h = await dashboardHarness();
  });
  afterAll(() => s.h.close());
  beforeEach(async () => {
    s.api = new FakeApi();
    await s.api.listen();
  });
  afterEach(async () => {
    expect(s.d.errors).toEqual([]);
    await s.d.close();
    await s.api.close();
  });
  return s;
}
