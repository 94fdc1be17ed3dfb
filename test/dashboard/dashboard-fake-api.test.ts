// The page's behaviour against a contract-checked stand-in API: states the local stack cannot
// easily be put in on demand (stale heartbeats, failures with messages, many pages, outages).

import { screenshotPath } from '../helpers/browser';
import { fakeApiSuite } from './helpers/page';

const secondsAgo = (s: number): string => new Date(Date.now() - s * 1000).toISOString();

// chromium on a shared 2-core machine can be slow to start; the default 60 s is tight under load
jest.setTimeout(120_000);

describe('dashboard against a stand-in API', () => {
  const s = fakeApiSuite();

  function busyRun(): void {
    s.api.startRun(
      1764000000,
      [
        ['aws', 'c7g.large'],
        ['aws', 'm7i.xlarge'],
        ['azure', 'Standard_D2s_v5'],
      ],
      4,
    );
    const running = { status: 'running' as const, runner_id: 'i-0abc', claimed_at: secondsAgo(200) };
    s.api.update(0, { status: 'completed', runner_id: 'i-0abc', finished_at: secondsAgo(40) });
    s.api.update(1, {
      ...running,
      heartbeat_at: secondsAgo(8),
      heartbeat_status: 'running',
      current_benchmark: 'fib',
      progress_pct: 42,
    });
    s.api.update(2, {
      ...running,
      heartbeat_at: secondsAgo(95),
      heartbeat_status: 'running',
      current_benchmark: 'nbody',
      progress_pct: 10,
    });
    s.api.update(4, {
      status: 'failed',
      runner_id: 'i-0def',
      error_type: 'docker_error',
      error_message: 'image ruby:3.4.7 not found',
      finished_at: secondsAgo(30),
    });
    s.api.update(8, {
      ...running,
      runner_id: 'vm-az-1',
      heartbeat_at: secondsAgo(3),
      heartbeat_status: 'provision',
    });
  }

  it('shows the idle state when no run exists, then picks up a run by itself', async () => {
    s.d = await s.h.open(s.api.url);
    await s.d.page.getByRole('heading', { name: 'No run yet' }).waitFor();
    busyRun();
    await s.d.page.getByRole('heading', { name: /Run 1764000000/ }).waitFor();
    expect(await s.d.page.locator('#idle').isHidden()).toBe(true);
  });

  it('shows counts, bars, stale heartbeats and failures with their error type and message', async () => {
    busyRun();
    s.d = await s.h.open(s.api.url);
    const { page } = s.d;
    await page.locator('#task-rows tr').first().waitFor();
    expect(await page.locator('#run-status').textContent()).toBe('Running');
    expect(await page.locator('#overall-text').textContent()).toBe(
      '2 of 12 finished: 1 completed, 1 failed, 3 running, 7 pending',
    );
    expect(await page.locator('#types li').count()).toBe(3);
    expect(await page.locator('#types li').first().textContent()).toContain('1 of 4 finished');
    const stale = page.locator('#task-rows tr.stale');
    expect(await stale.count()).toBe(1);
    expect(await stale.getAttribute('data-task-id')).toBe(String(s.api.task(2).id));
    expect(await stale.locator('.stale-badge').isVisible()).toBe(true);
    expect(await page.locator('#stale-note').textContent()).toMatch(
      /^1 task without a heartbeat for over a minute/,
    );
    const failed = page.locator('#failed li');
    expect(await failed.count()).toBe(1);
    expect(await failed.textContent()).toContain('docker_error');
    expect(await failed.textContent()).toContain('image ruby:3.4.7 not found');
    expect(await page.locator(`tr[data-task-id="${s.api.task(1).id}"] progress`).getAttribute('value')).toBe(
      '42',
    );
    await page.screenshot({ path: screenshotPath('dashboard-stand-in.png'), fullPage: true });
  });

  it('measures heartbeat ages on the API clock when the browser clock is off', async () => {
    s.api.clockOffsetMs = -10 * 60_000; // the API's clock is ten minutes behind this browser's
    s.api.startRun(1764000002, [['aws', 'c7g.large']], 1);
    const apiNow = Date.now() + s.api.clockOffsetMs;
    s.api.update(0, {
      status: 'running',
      runner_id: 'i-0abc',
      claimed_at: new Date(apiNow - 20_000).toISOString(),
      heartbeat_at: new Date(apiNow - 5_000).toISOString(),
      heartbeat_status: 'running',
    });
    s.d = await s.h.open(s.api.url);
    const row = s.d.page.locator('#task-rows tr').first();
    await row.waitFor();
    expect(await row.locator('.hb-text').textContent()).toMatch(/^running · \d+s ago$/);
    expect((await row.getAttribute('class')) ?? '').not.toContain('stale');
  });

  it('updates rows in place: the same row nodes, the scroll position and a text selection survive a refresh', async () => {
    s.api.startRun(1764000001, [['local', 'local-small']], 150); // more rows than fit, two pages
    s.d = await s.h.open(s.api.url, { width: 1000, height: 500 });
    const { page } = s.d;
    await page.locator('#task-rows tr').first().waitFor();
    expect(await page.locator('#task-rows tr').count()).toBe(100);
    // the row at the top of the viewport must stay put on screen while rows above it change
    const topOf = (n: number) =>
      page.evaluate(
        (i) => document.querySelector(`#task-rows tr:nth-child(${i})`)!.getBoundingClientRect().top,
        n,
      );
    await page.evaluate(() => {
      window.scrollTo(0, 900);
      const cell = document.querySelector('#task-rows tr:nth-child(3) td[data-label="Instance type"]')!;
      (cell as HTMLElement & { marker?: boolean }).marker = true;
      const range = document.createRange();
      range.selectNodeContents(cell);
      getSelection()!.removeAllRanges();
      getSelection()!.addRange(range);
    });
    const before = await topOf(20);
    s.api.update(2, {
      status: 'running',
      runner_id: 'r-1',
      claimed_at: secondsAgo(5),
      heartbeat_at: secondsAgo(1),
      heartbeat_status: 'running',
      progress_pct: 55,
    });
    await s.d.refreshes(2);
    const after = await page.evaluate(() => ({
      scrolled: window.scrollY >= 900,
      selected: getSelection()!.toString(),
      same: Boolean(
        (
          document.querySelector(
            '#task-rows tr:nth-child(3) td[data-label="Instance type"]',
          ) as HTMLElement & { marker?: boolean }
        ).marker,
      ),
      status: document.querySelector('#task-rows tr:nth-child(3) .badge')!.textContent,
    }));
    expect(after).toEqual({ scrolled: true, selected: 'local-small', same: true, status: 'running' });
    expect(Math.abs((await topOf(20)) - before)).toBeLessThanOrEqual(1);

    await page.getByRole('button', { name: 'Next' }).click();
    await page.waitForFunction(() => document.querySelector('#page-label')?.textContent === '101–150 of 150');
    expect(await page.locator('#task-rows tr').count()).toBe(50);
    await page.getByRole('button', { name: 'Previous' }).click();
    await page.waitForFunction(() => document.querySelector('#page-label')?.textContent === '1–100 of 150');
  });

  it('follows next_cursor through pages shorter than asked, numbering the rows it shows', async () => {
    s.api.startRun(1764000003, [['local', 'local-small']], 150);
    s.api.pageCut = 60; // fewer than the 100 asked for, as the API answers when a page would be too large
    s.d = await s.h.open(s.api.url);
    const { page } = s.d;
    const label = (want: string) =>
      page.waitForFunction((w) => document.querySelector('#page-label')?.textContent === w, want);
    await label('1–60 of 150');
    await page.getByRole('button', { name: 'Next' }).click();
    await label('61–120 of 150');
    await page.getByRole('button', { name: 'Next' }).click();
    await label('121–150 of 150');
    expect(await page.locator('#task-rows tr').count()).toBe(30);
    expect(await page.getByRole('button', { name: 'Next' }).getAttribute('aria-disabled')).toBe('true');
    await page.getByRole('button', { name: 'Previous' }).click();
    await label('61–120 of 150');
  });

  it('refuses a wrong key in words, then stops the run with the right one, asking for the key only once', async () => {
    busyRun();
    s.d = await s.h.open(s.api.url);
    const { page } = s.d;
    await page.getByRole('button', { name: 'End run early' }).click();
    const dialog = page.getByRole('dialog', { name: 'End this run early?' });
    await dialog.getByLabel('Operator key').fill('wrong-key');
    await dialog.getByRole('button', { name: 'End run' }).click();
    await dialog.getByRole('alert').waitFor();
    expect(await dialog.getByRole('alert').textContent()).toBe(
      'The run was not stopped: the API key is wrong: this route takes the operator key (HTTP 401)',
    );
    expect(s.api.run?.status).toBe('running');

    await dialog.getByLabel('Operator key').fill(s.api.operatorKey);
    await dialog.getByRole('button', { name: 'End run' }).click();
    await page.locator('#flash', { hasText: 'Run cancelled successfully' }).waitFor();
    await page.locator('#run-status', { hasText: 'Ended early' }).waitFor();
    expect(await page.getByRole('button', { name: 'End run early' }).isHidden()).toBe(true);
    // the key was kept for the tab: the archive link comes without asking again
    await page.locator('#download-link').waitFor();
    expect(await page.locator('#key-state').textContent()).toBe(
      'Operator key saved for this tab and accepted',
    );
    expect(s.api.log.filter((l) => l.startsWith('POST /run/stop'))).toEqual([
      'POST /run/stop auth=bad',
      'POST /run/stop auth=good',
    ]);
  });

  it("shows 409 and 500 answers in the API's own words", async () => {
    busyRun();
    s.api.forced.set('POST /run/stop', {
      status: 409,
      error: 'run_in_progress',
      message: 'the run is already assembling',
    });
    s.d = await s.h.open(s.api.url);
    const { page } = s.d;
    await page.getByRole('button', { name: 'End run early' }).click();
    const dialog = page.getByRole('dialog', { name: 'End this run early?' });
    await dialog.getByLabel('Operator key').fill(s.api.operatorKey);
    await dialog.getByRole('button', { name: 'End run', exact: true }).click();
    await dialog.getByRole('alert').waitFor();
    expect(await dialog.getByRole('alert').textContent()).toBe(
      'The run was not stopped: the run is already assembling (HTTP 409)',
    );
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'hidden' });

    s.api.forced.set('GET /run', {
      status: 500,
      error: 'internal',
      message: 'internal error (request 42): see the API logs',
    });
    await page.locator('#notice', { hasText: 'internal error (request 42)' }).waitFor();
    s.api.forced.delete('GET /run');
    await page.locator('#notice').waitFor({ state: 'hidden' });
  });

  it('says the archive is ready without a key, and a key entered from the keyboard unlocks the link', async () => {
    busyRun();
    s.api.finish('complete');
    s.d = await s.h.open(s.api.url);
    const { page } = s.d;
    await page.locator('#archive', { hasText: 'The results archive is ready' }).waitFor();
    expect(await page.locator('#download-link').count()).toBe(0);
    await page.getByRole('button', { name: 'Enter the operator key' }).focus();
    await page.keyboard.press('Enter');
    await page.keyboard.type(s.api.operatorKey);
    await page.keyboard.press('Enter');
    const link = page.locator('#download-link');
    await link.waitFor();
    expect(await link.getAttribute('href')).toContain('/download/results.tar.gz');
    const [download] = await Promise.all([page.waitForEvent('download'), link.click()]);
    expect(download.suggestedFilename()).toBe('results.tar.gz');
  });

  it('says why the archive could not be built, and puts the progress in the tab title', async () => {
    busyRun();
    s.api.finish('complete');
    s.api.run = {
      ...s.api.run!,
      status: 'assembly_failed',
      archive_key: null,
      assembly_error: 'S3 upload failed: 503 Slow Down',
    };
    s.d = await s.h.open(s.api.url);
    const { page } = s.d;
    await page
      .locator('#archive', { hasText: 'could not be built: S3 upload failed: 503 Slow Down' })
      .waitFor();
    expect(await page.locator('#run-status').textContent()).toBe('Archive assembly failed');
    expect(await page.title()).toBe('2/12 · Run 1764000000 · Benchfleet');
  });

  it('shows a notice while the API is unreachable and clears it when the API is back', async () => {
    busyRun();
    s.d = await s.h.open(s.api.url);
    const { page } = s.d;
    await page.locator('#task-rows tr').first().waitFor();
    await s.api.close();
    const notice = page.getByRole('alert');
    await notice.waitFor();
    expect(await notice.textContent()).toContain(`Cannot reach the API at ${s.api.url}`);
    expect(await page.locator('#task-rows tr').count()).toBe(12); // last known figures stay
    await s.api.listen();
    await page.locator('#notice').waitFor({ state: 'hidden' });
  });

  it('polls slowly while the tab is hidden and at once when it comes back', async () => {
    busyRun();
    s.d = await s.h.open(s.api.url);
    const { page } = s.d;
    await s.d.refreshes(2);
    const setHidden = (hidden: boolean) =>
      page.evaluate((v) => {
        Object.defineProperty(document, 'hidden', { configurable: true, get: () => v });
        document.dispatchEvent(new Event('visibilitychange'));
      }, hidden);
    await setHidden(true);
    const count = () => page.evaluate(() => Number(document.body.dataset.refreshes));
    const before = await count();
    await page.waitForTimeout(3500); // visible, this page polls every second
    expect(await count()).toBeLessThanOrEqual(before + 1); // at most the one already in flight
    await setHidden(false);
    await s.d.refreshes(1);
  });

  it('is usable at phone width: no sideways scrolling, tasks as cards', async () => {
    busyRun();
    s.d = await s.h.open(s.api.url, { width: 390, height: 844 });
    const { page } = s.d;
    await page.locator('#task-rows tr').first().waitFor();
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow).toBeLessThanOrEqual(0);
    expect(await page.locator('thead').isHidden()).toBe(true);
    await page.locator('#tasks-heading').scrollIntoViewIfNeeded();
    await page.screenshot({ path: screenshotPath('dashboard-phone.png') });
  });
});
