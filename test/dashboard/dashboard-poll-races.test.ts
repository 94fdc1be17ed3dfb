// What a poll must not undo: a focused download link (its URL is presigned afresh on every poll),
// a page turn clicked twice before the first page arrived, and a stop confirmed for a run that is
// no longer the current one.
import { fakeApiSuite } from './helpers/page';

jest.setTimeout(120_000);

describe('dashboard polls against a stand-in API', () => {
  const s = fakeApiSuite();

  it('keeps the download link, and its focus, across polls that presign a new URL', async () => {
    s.api.startRun(1764000100, [['local', 'small']], 2);
    s.api.finish('complete');
    s.d = await s.h.open(s.api.url);
    const { page } = s.d;
    await page.getByRole('button', { name: 'Enter key' }).click();
    await page.locator('#key-input').fill(s.api.operatorKey);
    await page.keyboard.press('Enter');
    const link = page.locator('#download-link');
    await link.waitFor();
    const firstHref = await link.getAttribute('href');
    await page.evaluate(() => {
      const box = document.getElementById('archive')!;
      (box.querySelector('#download-link') as HTMLElement & { marker?: boolean }).marker = true;
      const w = window as unknown as { archiveChanges: number };
      w.archiveChanges = 0;
      new MutationObserver((m) => {
        w.archiveChanges += m.filter((r) => r.type !== 'attributes').length;
      }).observe(box, { childList: true, subtree: true, characterData: true, attributes: true });
    });
    await link.focus();
    await s.d.refreshes(3);
    const after = await page.evaluate(() => ({
      focused: document.activeElement?.id,
      same: Boolean((document.getElementById('download-link') as HTMLElement & { marker?: boolean }).marker),
      changes: (window as unknown as { archiveChanges: number }).archiveChanges,
      href: document.getElementById('download-link')!.getAttribute('href'),
    }));
    expect(after).toMatchObject({ focused: 'download-link', same: true, changes: 0 });
    // the link in place carries the newest URL
    expect(after.href).not.toBe(firstHref);
    expect(after.href).toMatch(/\/download\/results\.tar\.gz\?sig=\d+$/);
  });

  it('ignores a second Next while the first page turn loads: the label and the rows agree', async () => {
    s.api.startRun(1764000101, [['local', 'small']], 300); // three pages of 100
    s.d = await s.h.open(s.api.url);
    const { page } = s.d;
    await page.waitForFunction(() => document.querySelector('#page-label')?.textContent === '1–100 of 300');
    // a slow network: the page fetch is held until both clicks have landed (a fixed delay was not
    // enough on a loaded CI machine: the first page sometimes arrived before the second click)
    let release: () => void = () => undefined;
    const held = new Promise<void>((r) => {
      release = r;
    });
    await page.route('**/run/tasks**', async (route) => {
      await held;
      await route.continue();
    });
    const next = page.getByRole('button', { name: 'Next' });
    await next.click();
    // the second click is forced: the page marks Next aria-disabled while it loads (on its next 1 s
    // tick), and Playwright would wait for it to be enabled, which it never is while the fetch is
    // held. A user's double click lands whatever the attribute says.
    await next.click({ force: true });
    await page.waitForFunction(
      () => document.getElementById('page-next')?.getAttribute('aria-disabled') === 'true',
    );
    release();
    await page.waitForFunction(() => document.querySelector('#page-label')?.textContent === '101–200 of 300');
    await s.d.refreshes(2); // and it stays so
    const shown = async () =>
      page.evaluate(() => ({
        label: document.querySelector('#page-label')?.textContent,
        first: document.querySelector('#task-rows tr th')?.textContent,
        rows: document.querySelectorAll('#task-rows tr').length,
      }));
    expect(await shown()).toEqual({ label: '101–200 of 300', first: String(s.api.task(100).id), rows: 100 });
    await next.click();
    await page.waitForFunction(() => document.querySelector('#page-label')?.textContent === '201–300 of 300');
    expect(await shown()).toEqual({ label: '201–300 of 300', first: String(s.api.task(200).id), rows: 100 });
    expect(await next.getAttribute('aria-disabled')).toBe('true');
  });

  it('stops the run the dialog was opened for, by id', async () => {
    s.api.startRun(1764000102, [['local', 'small']], 2);
    s.d = await s.h.open(s.api.url);
    const { page } = s.d;
    await page.getByRole('button', { name: 'End run early' }).click();
    const dialog = page.getByRole('dialog', { name: 'End this run early?' });
    await dialog.getByLabel('Operator key').fill(s.api.operatorKey);
    await dialog.getByRole('button', { name: 'End run', exact: true }).click();
    await page.locator('#run-status', { hasText: 'Ended early' }).waitFor();
    expect(s.api.stopBodies.map((b) => JSON.parse(b))).toEqual([{ run_id: 1764000102 }]);
  });

  it('stops nothing when another run started after the dialog opened, and says so', async () => {
    s.api.startRun(1764000103, [['local', 'small']], 2);
    s.d = await s.h.open(s.api.url);
    const { page } = s.d;
    await page.getByRole('button', { name: 'End run early' }).click();
    const dialog = page.getByRole('dialog', { name: 'End this run early?' });
    await dialog.getByLabel('Operator key').fill(s.api.operatorKey);
    // meanwhile that run ends and the next one starts
    s.api.startRun(1764000999, [['local', 'small']], 2);
    await s.d.refreshes(1);
    await dialog.getByRole('button', { name: 'End run', exact: true }).click();
    await dialog.getByRole('alert').waitFor();
    expect(await dialog.getByRole('alert').textContent()).toBe(
      'The run was not stopped: run 1764000103 is not in progress: the current run is 1764000999 (running); nothing was stopped (HTTP 404)',
    );
    expect(s.api.run).toMatchObject({ run_id: 1764000999, status: 'running' });
    expect(s.api.stopBodies.map((b) => JSON.parse(b))).toEqual([{ run_id: 1764000103 }]);
    // the page behind the dialog shows the new run
    await page.getByRole('heading', { name: /Run 1764000999/ }).waitFor();
  });
});
