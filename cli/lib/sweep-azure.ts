// The Azure side of nuke: every resource group tagged benchfleet:project (terraform-azure puts a
// whole run in one group), deleted with `az group delete --no-wait`; Azure removes its contents.
// terraform works in ARM_SUBSCRIPTION_ID's subscription when it is set, and az ignores that
// variable (it keeps its own current one): the sweep names it, or it would look, find nothing and
// report the other subscription clean.
import { CliError } from './errors';
import { runTool } from './exec';
import type { Resource, SweepStep } from './sweep';
import { TAG_KEY } from './sweep';

interface AzGroup {
  name: string;
  tags?: Record<string, string> | null;
  properties?: { provisioningState?: string };
}

/** `subscription`: ARM_SUBSCRIPTION_ID's, as terraform uses; none: az's current one. */
export function azureSteps(project: string, subscription: string | undefined): SweepStep[] {
  const inSubscription = subscription ? ['--subscription', subscription] : [];
  return [
    {
      provider: 'azure',
      kind: 'resource-group',
      find: async () => {
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
      },
      remove: async (r) => {
        await runTool('az', ['group', 'delete', '--name', r.id, ...inSubscription, '--yes', '--no-wait'], {
          label: 'azure',
        });
      },
    },
  ];
}
