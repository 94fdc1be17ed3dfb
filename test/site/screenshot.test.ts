// Opens the built site in headless Chromium: it must render offline (no request leaves file://)
// and a screenshot goes to test-results/site.png for people to look at.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { buildSite } from '../../site/build';
import { launchBrowser, screenshotPath } from '../helpers/browser';
import { standardRun } from './helpers/run-folder';

it('renders the ranking, matrix and charts offline and writes a screenshot', async () => {
  const dir = standardRun();
  writeFileSync(
    join(dir, 'prices.csv'),
    'instance_type,price\nm5.large,0.096\nc7a.large,0.1027\nc8g.large,0.0799\n',
  );
  const site = await buildSite({ resultsDir: dir, pricesFile: join(dir, 'prices.csv') });
  const browser = await launchBrowser();
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const requests: string[] = [];
    page.on('request', (r) => requests.push(r.url()));
    await page.goto(pathToFileURL(site.indexHtml).href);
    // c8g.large failed binarytrees, which every type's mean then leaves out: its row says so
    expect(await page.locator('table.ranking tbody th').allTextContents()).toEqual([
      'c8g.large lacks 1',
      'c7a.large',
      'm5.large',
    ]);
    expect(await page.locator('svg.chart').count()).toBeGreaterThanOrEqual(5);
    // style.css applied: the sticky header has its dark background
    const bg = await page.locator('header').evaluate((el) => getComputedStyle(el).backgroundColor);
    expect(bg).toBe('rgb(29, 43, 69)');
    expect(requests.filter((u) => !u.startsWith('file://'))).toEqual([]);
    await page.screenshot({ path: screenshotPath('site.png'), fullPage: true });
  } finally {
    await browser.close();
  }
});
