// What the page says must be true: the retry interval it states is the one in use (hidden tabs poll
// more slowly), notes drawn from one page of tasks say so beside the run's own count, and a saved
// key is called "not checked yet" until a use shows it was accepted or refused.
import type { Page } from 'playwright-core';
import type { TaskView } from '../../lambdas/shared/contract';
import { fakeApiSuite } from './helpers/page';

jest.setTimeout(120_000);

const secondsAgo = (s: number): string => new Date(Date.now() - s * 1000).toISOString();

/** The focused element's id (or data-action, or tag), `body` when focus fell off the page. */
const focused = (page: Page): Promise<string> =>
  page.evaluate(() => {
    const a = document.activeElement;
    if (a === null || a === document.body) return 'body';
    return a.id || (a.getAttribute('data-action') ?? a.tagName);
  });

/** Fakes the tab being hidden or shown, as chromium would report it. */
const setHidden = (page: Page, hidden: boolean): Promise<void> =>
  page.evaluate((v) => {
    Object.defineProperty(document, 'hidden', { configurable: true, get: () => v });
    document.dispatchEvent(new Event('visibilitychange'));
  }, hidden);

describe('dashboard words that must be true', () => {
  const s = fakeApiSuite();

  it('states the retry interval in use: 30 s while the tab is hidden, the visible one otherwise', async () => {
    s.api.startRun(1764000700, [['local', 'small']], 2);
    s.d = await s.h.open(s.api.url); // refreshSeconds: 1
    const { page } = s.d;
    await page.locator('#task-rows tr').first().waitFor();
    await s.api.close();
    const text = page.locator('#notice-text');
    await page.locator('#notice-text', { hasText: 'Retrying every 1 s.' }).waitFor();
    await setHidden(page, true);
    // the tab now polls every 30 s: the notice says so at once, not at the next failure
    await page.locator('#notice-text', { hasText: 'Retrying every 30 s' }).waitFor({ timeout: 5_000 });
    // and a refresh that fails while hidden says the same (counted from before the click: an
    // unreachable API fails at once, and the next poll of a hidden tab is 30 s away)
    const before = await page.evaluate(() => Number(document.body.dataset.refreshes));
    await page.locator('#retry-now').click();
    await page.waitForFunction((n) => Number(document.body.dataset.refreshes) > n, before);
    expect(await text.textContent()).toContain('Retrying every 30 s while this tab is hidden.');
    expect(await text.textContent()).not.toContain('every 1 s');
    await setHidden(page, false);
    await page.locator('#notice-text', { hasText: 'Retrying every 1 s.' }).waitFor({ timeout: 5_000 });
    await s.api.listen();
    await page.locator('#notice').waitFor({ state: 'hidden' });
  });

  it("says the stale note and the failed list cover the page on screen, beside the run's failed count", async () => {
    s.api.startRun(1764000701, [['local', 'small']], 150); // two pages of tasks
    const stale: Partial<TaskView> = {
      status: 'running',
      runner_id: 'r-1',
      claimed_at: secondsAgo(300),
      heartbeat_at: secondsAgo(95),
      heartbeat_status: 'running',
    };
    const failed = (n: number): Partial<TaskView> => ({
      status: 'failed',
      runner_id: `r-${n}`,
      error_type: 'docker_error',
      error_message: `failure ${n}`,
      finished_at: secondsAgo(30),
    });
    s.api.update(2, stale);
    s.api.update(4, failed(4));
    s.api.update(120, failed(120));
    s.api.update(130, failed(130));
    s.d = await s.h.open(s.api.url);
    const { page } = s.d;
    const label = (want: string) =>
      page.waitForFunction((w) => document.querySelector('#page-label')?.textContent === w, want);
    const note = (id: string) => page.locator(id).textContent();
    await label('1–100 of 150');
    await page.locator('#failed li').first().waitFor();
    expect(await note('#stale-note')).toMatch(
      /^On this page: 1 task without a heartbeat for over a minute \(oldest 1m 3\ds\)\. Other pages are checked only when shown\.$/,
    );
    expect(await note('#failed-note')).toBe(
      '1 of 3 failed tasks shown: those on this page of the task table (tasks 1–100). Turn its pages to see the others.',
    );
    expect(await page.locator('#failed li').count()).toBe(1);

    await page.getByRole('button', { name: 'Next' }).click();
    await label('101–150 of 150');
    await page.locator('#stale-note').waitFor({ state: 'hidden' });
    expect(await note('#failed-note')).toBe(
      '2 of 3 failed tasks shown: those on this page of the task table (tasks 101–150). Turn its pages to see the others.',
    );
    expect(await page.locator('#failed li').count()).toBe(2);

    // page 2's failures are retried and pass: the one left is on page 1
    s.api.update(120, { status: 'completed', error_type: null, error_message: null });
    s.api.update(130, { status: 'completed', error_type: null, error_message: null });
    await page
      .locator('#failed-note', {
        hasText:
          '1 failed task in this run, none on this page of the task table (tasks 101–150). Turn its pages to see it.',
      })
      .waitFor();
    expect(await page.locator('#failed li').count()).toBe(0);
  });

  it('says a saved key is not checked yet, then that it was refused when a stop used it, and takes another', async () => {
    s.api.startRun(1764000702, [['local', 'small']], 2);
    s.d = await s.h.open(s.api.url);
    const { page } = s.d;
    await page.locator('#task-rows tr').first().waitFor();
    await page.getByRole('button', { name: 'Enter key' }).click();
    // the runner key: reads accept it, so only a stop can tell it is not the operator key
    await page.locator('#key-input').fill(s.api.runnerKey);
    await page.keyboard.press('Enter');
    await page.locator('#key-state', { hasText: 'not checked yet' }).waitFor({ timeout: 5_000 });
    expect(await page.locator('#flash').textContent()).toContain('not checked yet');
    expect(await focused(page)).toBe('key-button');

    await page.getByRole('button', { name: 'End run early' }).click();
    const dialog = page.getByRole('dialog', { name: 'End this run early?' });
    await dialog.getByRole('button', { name: 'End run', exact: true }).click();
    await dialog.getByRole('alert').waitFor();
    expect(await dialog.getByRole('alert').textContent()).toBe(
      'The run was not stopped: the saved operator key was refused (the runner key may not call this route: use the operator key, HTTP 401). Enter the right key.',
    );
    expect(await focused(page)).toBe('stop-key');
    expect(await page.locator('#key-state').textContent()).toBe('The saved operator key was refused');
    await page.locator('#flash', { hasText: 'The saved operator key was refused' }).waitFor();
    expect(await focused(page)).toBe('stop-key');
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'hidden' });
    expect(await focused(page)).toBe('stop-button');

    await page.getByRole('button', { name: 'Re-enter key' }).click();
    await page.locator('#key-input').fill(s.api.operatorKey);
    await page.keyboard.press('Enter');
    await page.locator('#key-state', { hasText: 'not checked yet' }).waitFor({ timeout: 5_000 });
    await page.getByRole('button', { name: 'End run early' }).click();
    await dialog.getByRole('button', { name: 'End run', exact: true }).click();
    await page.locator('#run-status', { hasText: 'Ended early' }).waitFor();
    expect(await page.locator('#key-state').textContent()).toBe(
      'Operator key saved for this tab and accepted',
    );
    expect(s.api.log.filter((l) => l.startsWith('POST /run/stop'))).toEqual([
      'POST /run/stop auth=runner',
      'POST /run/stop auth=good',
    ]);
  });

  it('says when a saved key did not unlock the archive of a finished run, stops sending it, and takes another', async () => {
    s.api.startRun(1764000703, [['local', 'small']], 2);
    s.api.finish('complete');
    s.d = await s.h.open(s.api.url);
    const { page } = s.d;
    await page.locator('#archive', { hasText: 'The results archive is ready' }).waitFor();
    await page.getByRole('button', { name: 'Enter key' }).click();
    // the runner key is the one key a read accepts without the link: a wrong key is a 401
    await page.locator('#key-input').fill(s.api.runnerKey);
    await page.keyboard.press('Enter');
    await page.locator('#key-state', { hasText: 'refused' }).waitFor({ timeout: 5_000 });
    expect(await page.locator('#key-state').textContent()).toBe('The saved operator key was refused');
    expect(await page.locator('#flash').textContent()).toBe(
      "The saved operator key was refused: it did not unlock the archive's download link. Enter it again.",
    );
    expect(await page.locator('#archive').textContent()).toContain('the saved key did not unlock its link');
    expect(await focused(page)).toBe('key-button');
    // a refused key is forgotten, not sent again on every refresh
    const bad = () => s.api.log.filter((l) => l === 'GET /run auth=runner').length;
    const before = bad();
    await s.d.refreshes(2);
    expect(bad()).toBe(before);
    expect(await focused(page)).toBe('key-button');

    await page.getByRole('button', { name: 'Re-enter key' }).click();
    await page.locator('#key-input').fill(s.api.operatorKey);
    await page.keyboard.press('Enter');
    await page.locator('#download-link').waitFor();
    await page.locator('#key-state', { hasText: 'accepted' }).waitFor({ timeout: 5_000 });
    expect(await page.locator('#key-state').textContent()).toBe(
      'Operator key saved for this tab and accepted',
    );
    expect(await focused(page)).toBe('key-button');
  });
});
