// The Azure side of nuke: every resource group tagged benchfleet:project (terraform-azure puts a
// whole run in one group), deleted with `az group delete --no-wait`; Azure removes its contents,
// and the sweep waits for that: a delete that fails in Azure's background (a lock on a resource, a
// policy) leaves the group up, no longer Deleting, and the second look reports it as left.
// terraform works in ARM_SUBSCRIPTION_ID's subscription when it is set, and az ignores that
// variable (it keeps its own current one): the sweep names it, or it would look, find nothing and
// report the other subscription clean.
import { CliError } from './errors';
import { runTool } from './exec';
import type { Resource, SweepStep } from './sweep';
import { TAG_KEY, waitUntil } from './sweep';

/** How long nuke waits for Azure to delete the groups it asked it to (VMs, disks, a NAT gateway). */
const DELETE_WAIT_MS = 30 * 60_000;

interface AzGroup {
  name: string;
  tags?: Record<string, string> | null;
  properties?: { provisioningState?: string };
}

/** `subscription`: ARM_SUBSCRIPTION_ID's, as terraform uses; none: az's current one. */
export function azureSteps(project: string, subscription: string | undefined): SweepStep[] {
  const inSubscription = subscription ? ['--subscription', subscription] : [];
  const find = async (): Promise<Resource[]> => {
    const { stdout } = await runTool(
      'az',
      ['group', 'list', '--tag', `${TAG_KEY}=${project}`, ...inSubscription, '--output', 'json'],
      {
        capture: true,
        quiet: true,
      },
    );
    let groups: AzGroup[];
    try {
      groups = JSON.parse(stdout || '[]') as AzGroup[];
    } catch {
      throw new CliError(`\`az group list\` printed something that is not JSON: ${stdout.slice(0, 200)}`);
    }
    return groups
      .filter((g) => g.tags?.[TAG_KEY] === project)
      .map((g): Resource => {
        const state = g.properties?.provisioningState;
        return {
          provider: 'azure',
          kind: 'resource-group',
          id: g.name,
          ...(state && { note: state }),
          ...(state === 'Deleting' && { deleting: true }),
        };
      });
  };
  return [
    {
      provider: 'azure',
      kind: 'resource-group',
      find,
      remove: async (r) => {
        await runTool('az', ['group', 'delete', '--name', r.id, ...inSubscription, '--yes', '--no-wait'], {
          label: 'azure',
        });
      },
      // gone, or no longer Deleting (its delete failed): the second look tells which
      settle: (removed) =>
        waitUntil(
          `Azure to delete ${removed.length} resource group(s) (it takes minutes)`,
          async () => {
            const now = await find();
            return removed.every((r) => !now.some((g) => g.id === r.id && g.deleting));
          },
          DELETE_WAIT_MS,
        ),
    },
  ];
}
