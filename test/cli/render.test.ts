// The pure parts: quota families, the preflight text and the progress lines.

import { awsQuotaFor, azureFamilyFor, formatPreflight, shortQuotaError } from '../../cli/lib/preflight';
import { age, renderRun } from '../../cli/lib/progress';
import type { RunView, TaskView } from '../../lambdas/shared/contract';
import { estimateCost, planFleet } from '../../lambdas/shared/fleet-plan';

it('maps instance types to their vCPU quota', () => {
  expect(awsQuotaFor('c7g.medium')?.code).toBe('L-1216C47A'); // Graviton counts as standard
  expect(awsQuotaFor('c8i.large')?.code).toBe('L-1216C47A');
  expect(awsQuotaFor('g5.xlarge')?.code).toBe('L-DB2E81BA');
  expect(awsQuotaFor('inf2.xlarge')?.code).toBe('L-1945791B');
  expect(azureFamilyFor('Standard_D2pls_v6')).toBe('standardDPLSv6Family');
  expect(azureFamilyFor('Standard_F2als_v6')).toBe('standardFALSv6Family');
  expect(azureFamilyFor('Standard_D2s_v5')).toBe('standardDSv5Family');
});

it('prints the plan, the estimate and the quotas, and refuses a short quota', () => {
  const plan = planFleet({
    ruby_version: '3.4.7',
    runs_per_instance_type: 3,
    aws: ['c7i.large'],
    azure: ['Standard_D2pls_v6'],
  });
  const quotas = [
    { provider: 'aws' as const, quota: 'Standard (L-1216C47A)', limit: 5, used: 2, needed: 4, ok: false },
  ];
  const text = formatPreflight({
    plan,
    quotas,
    warnings: ['w1'],
    estimate: estimateCost(plan, 30),
    task_minutes: 30,
    estimated_minutes: 50,
    max_vm_hours_default: 5,
  }).join('\n');
  expect(text).toMatch(/aws\s+c7i\.large\s+2 VM\(s\) x 2 slot\(s\) for 3 task\(s\), \$0\.0893\/h each/);
  expect(text).toContain('Estimate: about 50 minutes and $');
  // the safety net, once, with what it bounds: 2 c7i.large and 2 D2pls_v6 VMs for 5 h at most
  expect(text.match(/whatever happens/g)).toHaveLength(1);
  expect(plan.max_vm_hours).toBe(5);
  expect(text).toContain(
    `Each VM powers off after at most 5 h whatever happens (this run's default; --max-vm-hours changes it); were every VM up that long: $${(plan.hourly_usd * 5).toFixed(2)}`,
  );
  expect(text).toContain('SHORT aws Standard (L-1216C47A): 2 used + 4 needed of 5');
  expect(text).toContain('warning: w1');
  expect(shortQuotaError(quotas)?.message).toContain('needs 4 vCPUs, 3 free');
  expect(shortQuotaError([{ ...quotas[0]!, ok: true }])).toBeUndefined();
});

it('renders counts per instance type and the active tasks with their heartbeat age', () => {
  const counts = { total: 2, pending: 0, claimed: 0, running: 1, completed: 1, failed: 0, cancelled: 0 };
  const run = {
    run_id: 7,
    status: 'running',
    tasks: counts,
    instance_types: [{ provider: 'aws', instance_type: 'c7g.medium', counts }],
  } as unknown as RunView;
  const task = {
    id: 700001,
    instance_type: 'c7g.medium',
    run: 2,
    status: 'running',
    heartbeat_status: 'running',
    current_benchmark: 'fib',
    progress_pct: 41.6,
    heartbeat_at: '2026-01-01T00:00:00.000Z',
  } as unknown as TaskView;
  const lines = renderRun(run, [task], new Date('2026-01-01T00:01:05Z'));
  expect(lines).toEqual([
    'run 7 running: 1/2 finished, 1 completed, 1 running, 0 pending',
    '  aws   c7g.medium   [#####.....] 1/2 completed, 1 running',
    '    task 700001 c7g.medium run 2: running fib 42%, heartbeat 1m05s ago',
  ]);
  expect(age(3_700_000)).toBe('1h01m');
});
