// The Azure vCPU quotas start checks before anything is launched: the runners' sizes, and the
// bastion's B-series vCPU only when --ssh-cidr makes terraform-azure create one.

import { checkAzureQuotas } from '../../cli/lib/preflight';
import { planFleet } from '../../lambdas/shared/fleet-plan';
import { type Sandbox, sandbox } from './helpers';

const usage = [
  { currentValue: 4, limit: 100, name: { value: 'cores', localizedValue: 'Total Regional vCPUs' } },
  { currentValue: 0, limit: 20, name: { value: 'standardDPLSv6Family' } },
  { currentValue: 0, limit: 10, name: { value: 'standardBSFamily' } },
];
const plan = planFleet({
  ruby_version: '3.4.7',
  runs_per_instance_type: 2,
  azure: ['Standard_D2pls_v6'],
});

let box: Sandbox;
beforeEach(() => {
  box = sandbox({ FAKE_AZ_USAGE: JSON.stringify(usage) });
});
afterEach(() => box.restore());

const needed = (checks: Awaited<ReturnType<typeof checkAzureQuotas>>) =>
  Object.fromEntries(checks.map((c) => [c.quota, c.needed]));

it('counts only the runners when there is no bastion (no --ssh-cidr)', async () => {
  const checks = await checkAzureQuotas(plan, 'eastus', [], false);
  expect(needed(checks)).toEqual({
    'Total Regional vCPUs (eastus)': 2,
    'standardDPLSv6Family (eastus)': 2,
  });
});

it("adds the bastion's vCPU, and its family, when --ssh-cidr makes one", async () => {
  const checks = await checkAzureQuotas(plan, 'eastus', [], true);
  expect(needed(checks)).toEqual({
    'Total Regional vCPUs (eastus)': 3,
    'standardDPLSv6Family (eastus)': 2,
    'standardBSFamily (eastus)': 1,
  });
});
