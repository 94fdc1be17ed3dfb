// What must not freeze or mislead the page: an answer whose body stalls after the headers, a run
// that starts between GET /run and GET /run/tasks, 4- and 5-digit counts and the longest names
// the API allows at phone width.
import type { Provider } from '../../lambdas/shared/contract';
import { fakeApiSuite } from './helpers/page';

jest.setTimeout(120_000);

describe('dashboard robustness against a stand-in API', () => {
  const s = fakeApiSuite();

  it('keeps polling after a GET /run whose body stalls: the call times out and the page recovers', async () => {
    s.api.startRun(1764000200, [['local', 'small']], 2);
    // a 2 s request timeout instead of the page's 10 s keeps this test short
    s.d = await s.h.open(s.api.url, undefined, { config: { timeoutSeconds: 2 } });
    const { page } = s.d;
    await page.locator('#overall-text', { hasText: '0 of 2 finished' }).waitFor();
    // one answer sends its headers and `{"run_id": `, then nothing; the API is healthy afterwards
    s.api.stallOnce.add('GET /run');
    s.api.update(0, { status: 'completed', runner_id: 'r-1', finished_at: new Date().toISOString() });
    s.api.update(1, { status: 'completed', runner_id: 'r-1', finished_at: new Date().toISOString() });
    // before the fix the body was read without a timeout: the refresh never ended and polling stopped
    await page
      .locator('#overall-text', { hasText: '2 of 2 finished: 2 completed' })
      .waitFor({ timeout: 10_000 });
    expect(s.api.stallOnce.size).toBe(0); // the stalled answer was sent
    await page.locator('#notice').waitFor({ state: 'hidden', timeout: 5_000 });
    await s.d.refreshes(1); // and it keeps polling
  });

  it('never shows one run’s tasks under another run’s heading when a run starts mid-refresh', async () => {
    const A = 1764000500;
    const B = 1764000600;
    s.api.startRun(A, [['local', 'small']], 3);
    s.d = await s.h.open(s.api.url);
    const { page } = s.d;
    await page.locator('#task-rows tr').first().waitFor();
    let switchNow = false;
    await page.route('**/run/tasks**', async (route) => {
      if (switchNow) {
        switchNow = false;
        // `benchfleet start` of the next run lands between this refresh's GET /run and its task list
        s.api.startRun(B, [['aws', 'c7g.large']], 5);
        s.api.update(0, { status: 'failed', error_type: 'no_runner', error_message: 'no runner came' });
      }
      await route.continue();
    });
    // every frame from now on: the rows (task id = run_id * 100000 + n) belong to the run in the heading
    await page.evaluate(() => {
      const w = window as unknown as { seen: Set<string> };
      w.seen = new Set();
      const check = (): void => {
        const heading = document.getElementById('run-id')?.textContent ?? '';
        const rows = Array.from(document.querySelectorAll('#task-rows tr')).map(
          (r) => r.getAttribute('data-task-id') ?? '',
        );
        const failed = Array.from(document.querySelectorAll('#failed li')).map(
          (r) => r.getAttribute('data-task-id') ?? '',
        );
        if ([...rows, ...failed].some((id) => Math.floor(Number(id) / 100000) !== Number(heading))) {
          const label = document.getElementById('page-label')?.textContent;
          w.seen.add(
            `heading ${heading}, rows ${rows.join(',')}, failed ${failed.join(',')}, label ${label}`,
          );
        }
        requestAnimationFrame(check);
      };
      check();
    });
    switchNow = true;
    await page.locator('#run-id', { hasText: String(B) }).waitFor();
    await s.d.refreshes(2);
    expect(await page.evaluate(() => [...(window as unknown as { seen: Set<string> }).seen])).toEqual([]);
    expect(await page.locator('#page-label').textContent()).toBe('1–5 of 5');
    expect(await page.locator('#failed li').getAttribute('data-task-id')).toBe(String(s.api.task(0).id));
    expect(await page.locator('#notice').isHidden()).toBe(true);
  });

  it('does not scroll sideways at 390 and 360 px with 4- and 5-digit counts', async () => {
    const types: Array<[Provider, string]> = [
      ['aws', 'c7g.large'],
      ['aws', 'm7i.xlarge'],
      ['azure', 'Standard_D2s_v5'],
      ['azure', 'Standard_D4ps_v5'],
    ];
    /** `perType` tasks of each of the four types: the first type's cancelled, the second's completed. */
    const sizedRun = (runId: number, perType: number): void => {
      s.api.startRun(runId, types, perType);
      for (let i = 0; i < perType; i += 1) {
        s.api.tasks[i] = { ...s.api.tasks[i]!, status: 'cancelled' };
        s.api.tasks[perType + i] = { ...s.api.tasks[perType + i]!, status: 'completed' };
      }
    };
    sizedRun(1764000400, 1250); // 5000 in total: every count has 4 digits
    s.d = await s.h.open(s.api.url, { width: 390, height: 844 });
    const { page } = s.d;
    const overflow = () =>
      page.evaluate(() => {
        const ul = document.getElementById('counts')!;
        return {
          page: document.documentElement.scrollWidth - window.innerWidth,
          counts: ul.scrollWidth - ul.clientWidth,
        };
      });
    const seen: Record<string, unknown> = {};
    const measure = async (digits: number): Promise<void> => {
      for (const width of [390, 360]) {
        await page.setViewportSize({ width, height: 844 });
        seen[`${digits} digits at ${width} px`] = await overflow();
      }
    };
    await page.locator('#overall-text', { hasText: '2500 of 5000 finished' }).waitFor();
    await measure(4);
    sizedRun(1764000401, 2500); // 10,000 tasks, as many as the design allows: 5 digits
    await page.locator('#overall-text', { hasText: '5000 of 10000 finished' }).waitFor();
    await measure(5);
    const none = { page: 0, counts: 0 };
    expect(seen).toEqual({
      '4 digits at 390 px': none,
      '4 digits at 360 px': none,
      '5 digits at 390 px': none,
      '5 digits at 360 px': none,
    });
  });

  it('does not scroll sideways or cut off cards with the longest names the API allows', async () => {
    // 64 characters: the longest instance type a config takes and the longest error_type kept
    const longType = `Standard_HB176-144rs_v4_${'x'.repeat(40)}`;
    const longError = 'E'.repeat(64);
    expect(longType).toHaveLength(64);
    s.api.startRun(1764000700, [['azure', longType]], 2);
    const now = new Date().toISOString();
    s.api.update(0, {
      status: 'running',
      runner_id: `runner-${'y'.repeat(120)}`,
      claimed_at: now,
      heartbeat_at: now,
      heartbeat_status: 'running',
      current_benchmark: 'b'.repeat(200),
      progress_pct: 10,
    });
    s.api.update(1, {
      status: 'failed',
      runner_id: 'r-1',
      error_type: longError,
      error_message: 'm'.repeat(500),
      finished_at: now,
    });
    s.d = await s.h.open(s.api.url, { width: 360, height: 800 });
    const { page } = s.d;
    await page.locator('#failed li').first().waitFor();
    const measure = () =>
      page.evaluate(() => {
        // every element whose content is wider than its box and does not scroll it into view
        const clipped = Array.from(document.querySelectorAll('main *'))
          .filter((el) => {
            const style = getComputedStyle(el);
            return (
              el.scrollWidth > el.clientWidth + 1 &&
              !['auto', 'scroll'].includes(style.overflowX) &&
              el.closest('.table-wrap, [data-scroll]') === null
            );
          })
          .map((el) => `${el.tagName.toLowerCase()}.${el.className}`);
        return { page: document.documentElement.scrollWidth - window.innerWidth, clipped };
      });
    const seen: Record<string, unknown> = {};
    for (const width of [390, 360]) {
      await page.setViewportSize({ width, height: 800 });
      seen[`${width} px`] = await measure();
    }
    const none = { page: 0, clipped: [] };
    expect(seen).toEqual({ '390 px': none, '360 px': none });
  });
});
