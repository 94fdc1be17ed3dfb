// The dialogs against refreshes that change the page behind them: a stop is sent at most once, and
// keyboard focus never falls to <body> when the control that opened a dialog is gone or hidden.
import type { Page } from 'playwright-core';
import { fakeApiSuite } from './helpers/page';

jest.setTimeout(120_000);

/** The focused element's id (or tag), `body` when focus fell off the page. */
const focused = (page: Page): Promise<string> =>
  page.evaluate(() => {
    const a = document.activeElement;
    if (a === null || a === document.body) return 'body';
    return a.id || (a.getAttribute('data-action') ?? a.tagName);
  });

describe('dashboard dialogs while the page refreshes behind them', () => {
  const s = fakeApiSuite();

  it('sends one stop: while it is on its way the dialog cannot be dismissed or reopened into a second', async () => {
    s.api.startRun(1764000301, [['local', 'small']], 2);
    s.d = await s.h.open(s.api.url);
    const { page } = s.d;
    let release: () => void = () => undefined;
    const held = new Promise<void>((r) => {
      release = r;
    });
    await page.route('**/run/stop', async (route) => {
      await held; // a slow network
      await route.continue();
    });
    const dialog = page.getByRole('dialog', { name: 'End this run early?' });
    const confirmDisabled = () =>
      page.evaluate(() => (document.getElementById('stop-confirm') as HTMLButtonElement).disabled);
    await page.getByRole('button', { name: 'End run early' }).click();
    await dialog.getByLabel('Operator key').fill(s.api.operatorKey);
    await dialog.getByRole('button', { name: 'End run', exact: true }).click();
    await page.waitForFunction(() => (document.getElementById('stop-confirm') as HTMLButtonElement).disabled);
    // "nothing happens": the user tries to get out; neither Escape nor "Keep running" closes it
    await page.keyboard.press('Escape');
    expect(await dialog.isVisible()).toBe(true);
    // forced: Playwright waits for an aria-disabled button to be enabled; a user's click lands anyway
    await dialog.getByRole('button', { name: 'Keep running' }).click({ force: true });
    expect(await dialog.isVisible()).toBe(true);
    expect(await focused(page)).toBe('stop-cancel'); // the focus stayed in the dialog
    expect(await dialog.getByRole('button', { name: 'Keep running' }).getAttribute('aria-disabled')).toBe(
      'true',
    );
    // a browser may still let a repeated Escape through: reopening must not re-arm "End run"
    await page.evaluate(() => (document.getElementById('stop-dialog') as HTMLDialogElement).close());
    await dialog.waitFor({ state: 'hidden' });
    await page.getByRole('button', { name: 'End run early' }).click();
    await dialog.waitFor();
    expect(await confirmDisabled()).toBe(true);
    await dialog.getByLabel('Operator key').press('Enter'); // implicit submission: nothing either
    expect(s.api.stopBodies).toEqual([]); // still held
    release();
    await page.locator('#run-status', { hasText: 'Ended early' }).waitFor();
    await dialog.waitFor({ state: 'hidden' });
    await s.d.refreshes(1);
    expect(s.api.stopBodies.map((b) => JSON.parse(b))).toEqual([{ run_id: 1764000301 }]);
    expect(await page.locator('#stop-error').isHidden()).toBe(true);
    expect(await focused(page)).toBe('run-heading');
  });

  it('keeps focus on the new download link after a key entered from the archive box unlocks it', async () => {
    s.api.startRun(1764000300, [['local', 'small']], 2);
    s.api.finish('complete');
    s.d = await s.h.open(s.api.url);
    const { page } = s.d;
    const unlock = page.locator('#archive [data-action="enter-key"]');
    await unlock.waitFor();
    await unlock.focus();
    await page.keyboard.press('Enter');
    await page.locator('#key-input').fill(s.api.operatorKey);
    await page.keyboard.press('Enter');
    await page.locator('#download-link').waitFor();
    await s.d.refreshes(1);
    expect(await focused(page)).toBe('download-link');
  });

  it('keeps focus on the new unlock button when a key entered from the archive box unlocks nothing', async () => {
    s.api.startRun(1764000303, [['local', 'small']], 2);
    s.api.finish('complete');
    s.d = await s.h.open(s.api.url);
    const { page } = s.d;
    const unlock = page.locator('#archive [data-action="enter-key"]');
    await unlock.waitFor();
    await unlock.focus();
    await page.keyboard.press('Enter');
    // the runner key: a right key for reads, which gets no archive link (a wrong one is a 401)
    await page.locator('#key-input').fill(s.api.runnerKey);
    await page.keyboard.press('Enter');
    await page.locator('#archive', { hasText: 'the saved key did not unlock its link' }).waitFor();
    await s.d.refreshes(1);
    expect(await focused(page)).toBe('enter-key');
  });

  for (const how of ['the Close button', 'Escape'] as const) {
    it(`says when the run ended by itself with the stop dialog open, and keeps focus on dismissal by ${how}`, async () => {
      s.api.startRun(1764000302, [['local', 'small']], 1);
      s.d = await s.h.open(s.api.url);
      const { page } = s.d;
      await page.getByRole('button', { name: 'End run early' }).click();
      const dialog = page.getByRole('dialog', { name: 'End this run early?' });
      await dialog.waitFor();
      s.api.update(0, { status: 'completed', runner_id: 'r-1', finished_at: new Date().toISOString() });
      s.api.finish('complete');
      await page.locator('#run-status', { hasText: 'Complete' }).waitFor();
      await s.d.refreshes(1);
      // "End run early", which the dialog would return focus to, is hidden behind it now; the
      // dialog says the run is over instead of offering to end it
      const alert = dialog.getByRole('alert');
      const said = (await alert.isVisible()) ? await alert.textContent() : null;
      const endRunShown = await page.locator('#stop-confirm').isVisible();
      const cancelLabel = await page.locator('#stop-cancel').textContent();
      if (how === 'Escape') await page.keyboard.press('Escape');
      else await page.locator('#stop-cancel').click(); // "Close" now, "Keep running" before the fix
      await dialog.waitFor({ state: 'hidden' });
      await page.waitForTimeout(100); // chromium moves a lost focus to <body> a moment after closing
      expect({ said, endRunShown, cancelLabel, focus: await focused(page) }).toEqual({
        said: 'Run 1764000302 has already ended (Complete): there is nothing left to stop.',
        endRunShown: false,
        cancelLabel: 'Close',
        focus: 'run-heading',
      });
      expect(s.api.stopBodies).toEqual([]);
    });
  }
});
