// The dashboard against the real local mode (dynalite, s3rver, the same handlers, the in-process
// assembly workflow), with runners simulated by plain HTTP calls to the contract.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LocalStack } from '../../lambdas/adapters/local/stack';
import type { ClaimedTask, ClaimResponse } from '../../lambdas/shared/contract';
import { client, OPERATOR, startTestStack, upload } from '../helpers/api';
import { screenshotPath } from '../helpers/browser';
import { type DashboardHarness, dashboardHarness, type OpenDashboard } from './helpers/page';

type Assigned = Extract<ClaimResponse, { status: 'assigned' }>;

// chromium on a shared 2-core machine can be slow to start; the default 60 s is tight under load
jest.setTimeout(120_000);

describe('dashboard against the local stack', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'dashboard-stack-'));
  let stack: LocalStack;
  let api: ReturnType<typeof client>;
  let h: DashboardHarness;
  let d: OpenDashboard;
  let runId: number;
  const claimed: Assigned[] = [];

  async function claim(instanceType: string, runner: string): Promise<ClaimedTask> {
    const res = await api.claim(runId, instanceType, runner);
    if (res.body.status !== 'assigned') throw new Error(`expected a task, got ${JSON.stringify(res.body)}`);
    claimed.push(res.body);
    return res.body.task;
  }
  const row = (id: number) => d.page.locator(`#task-rows tr[data-task-id="${id}"]`);

  beforeAll(async () => {
    stack = await startTestStack({ dataDir });
    api = client(stack.apiUrl);
    h = await dashboardHarness();
    const started = await api.start({ local: ['local-small', 'local-large'], runs_per_instance_type: 3 });
    expect(started.status).toBe(201);
    runId = started.body.run_id;
    d = await h.open(stack.apiUrl);
  });
  afterAll(async () => {
    await h.close();
    await stack.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });
  afterEach(() => expect(d.errors).toEqual([]));

  it('shows a running run whose tasks progress between two refreshes', async () => {
    const { page } = d;
    await page.getByRole('heading', { name: `Run ${runId}` }).waitFor();
    expect(await page.locator('#task-rows tr').count()).toBe(6);
    const a = await claim('local-small', 'runner-1');
    const b = await claim('local-large', 'runner-2');
    await api.heartbeat(a.id, 'runner-1', { current_benchmark: 'fib', progress_pct: 20 });
    await api.heartbeat(b.id, 'runner-2', { status: 'provision' });
    await row(a.id).locator('.badge', { hasText: 'running' }).waitFor();
    expect(await row(a.id).locator('td[data-label="Benchmark"]').textContent()).toBe('fib');
    expect(await row(a.id).locator('.pct').textContent()).toBe('20%');

    // the runner moves on and finishes a task; the same page shows it without a reload
    await api.heartbeat(a.id, 'runner-1', { current_benchmark: 'nbody', progress_pct: 65 });
    const first = claimed[0]!;
    await upload(first.presigned_urls.result);
    expect((await api.complete(b.id, 'runner-2')).status).toBe(409); // nothing uploaded for b
    await api.heartbeat(b.id, 'runner-2', { current_benchmark: 'binary_trees', progress_pct: 5 });
    await d.refreshes(2);
    expect(await row(a.id).locator('td[data-label="Benchmark"]').textContent()).toBe('nbody');
    expect(await row(a.id).locator('.pct').textContent()).toBe('65%');
    expect(await row(b.id).locator('.pct').textContent()).toBe('5%');
    expect((await api.complete(a.id, 'runner-1')).status).toBe(200);
    await row(a.id).locator('.badge', { hasText: 'completed' }).waitFor();
    expect(await row(a.id).locator('.pct').textContent()).toBe('100%');
    const c = await claim('local-small', 'runner-3');
    await api.fail(c.id, 'runner-3', 'docker_error', { error_message: 'pull access denied for ruby:3.4.7' });
    await page.locator('#failed li', { hasText: 'pull access denied for ruby:3.4.7' }).waitFor();
    expect(await page.locator('#failed .error-type').textContent()).toBe('docker_error');
    expect(await page.locator('#overall-text').textContent()).toBe(
      '2 of 6 finished: 1 completed, 1 failed, 1 running, 3 pending',
    );
    expect(await page.locator('#types li').first().textContent()).toContain('2 of 3 finished');
    await page.mouse.move(0, 0);
    await page.screenshot({ path: screenshotPath('dashboard.png'), fullPage: true });
  });

  it('shows a notice while the API is down and clears it when the API is back', async () => {
    const port = stack.port;
    await stack.stop();
    const notice = d.page.locator('#notice');
    await notice.waitFor();
    expect(await notice.textContent()).toContain(`Cannot reach the API at ${stack.apiUrl}`);
    stack = await startTestStack({ dataDir, port });
    await notice.waitFor({ state: 'hidden' });
    expect(await d.page.locator('#run-status').textContent()).toBe('Running');
  });

  it('forgets a wrong key at the next refresh, which the API refuses, and goes on showing the run', async () => {
    const { page } = d;
    await page.getByRole('button', { name: 'Enter key' }).click();
    await page.locator('#key-input').fill('not-the-key');
    await page.keyboard.press('Enter');
    // GET /run with a wrong key answers 401 (reads need no key, but a key sent is checked)
    await page.locator('#flash', { hasText: 'it has been forgotten' }).waitFor({ timeout: 15_000 });
    expect(await page.locator('#flash').textContent()).toContain(
      'The saved operator key was refused (the API key is wrong (a read needs no key, but a key sent with one is checked)',
    );
    expect(await page.locator('#key-state').textContent()).toBe('The saved operator key was refused');
    expect(await page.evaluate(() => sessionStorage.getItem('benchfleet.operatorKey'))).toBeNull();
    await page.getByRole('heading', { name: `Run ${runId}` }).waitFor();
    expect(await page.locator('#task-rows tr').count()).toBe(6);
  });

  it('stops nothing with a wrong key, ends the run with the right one and then offers the archive', async () => {
    const { page } = d;
    await page.getByRole('button', { name: 'End run early' }).click();
    const dialog = page.getByRole('dialog', { name: 'End this run early?' });
    expect(await dialog.textContent()).toContain('1 completed task.');
    await dialog.getByLabel('Operator key').fill('not-the-key');
    await dialog.getByRole('button', { name: 'End run', exact: true }).click();
    await dialog.getByRole('alert').waitFor();
    expect(await dialog.getByRole('alert').textContent()).toBe(
      'The run was not stopped: the API key is wrong: this route takes the operator key (HTTP 401)',
    );
    expect((await api.run()).body.status).toBe('running');

    await dialog.getByLabel('Operator key').fill(OPERATOR);
    await dialog.getByRole('button', { name: 'End run', exact: true }).click();
    await dialog.waitFor({ state: 'hidden' });
    expect((await api.run()).body.status).toMatch(/^(assembling|cancelled)$/);
    await page.locator('#run-status', { hasText: 'Ended early' }).waitFor();
    expect(await page.locator('.count-cancelled .count-n').textContent()).toBe('4');

    // the key the stop used was kept for the tab, so the archive's link comes with it
    const link = page.locator('#download-link');
    await link.waitFor();
    const [download] = await Promise.all([page.waitForEvent('download'), link.click()]);
    const bytes = readFileSync((await download.path())!);
    expect([...bytes.subarray(0, 2)]).toEqual([0x1f, 0x8b]); // gzip magic
  });
});
