// `benchfleet nuke`: remove everything Benchfleet made. First the IaC tools (cdk destroy of every
// Benchfleet stack, terraform destroy of each Azure run), then a sweep through the providers' own
// APIs for anything tagged benchfleet:project that survived, then one more look. Safe to repeat;
// untagged resources are never touched; --dry-run only lists.
import type { Command } from 'commander';
import { action } from '../lib/errors';
import type { NukeFlags } from '../lib/nuke-run';
import { TAG_KEY } from '../lib/sweep';

// Loaded on use (require: tsx runs the CLI as CommonJS) so `benchfleet --help` skips the cloud SDKs.
const lazy = () => require('../lib/nuke-run') as typeof import('../lib/nuke-run');

export function register(program: Command): void {
  program
    .command('nuke')
    .description(`delete every Benchfleet stack, fleet and stray resource tagged ${TAG_KEY} (AWS and Azure)`)
    .option('--dry-run', 'list what would be deleted and change nothing')
    .option('-y, --yes', 'do not ask for confirmation')
    .option('--json', 'print {found, deleted, failed, left} as JSON on stdout')
    .option('--project <name>', `only resources whose ${TAG_KEY} tag has this value`, 'benchfleet')
    .option('--no-aws', 'leave AWS alone')
    .option('--no-azure', 'leave Azure alone')
    .addHelpText(
      'after',
      '\nAWS: the region of your AWS profile / AWS_REGION. Azure: ARM_SUBSCRIPTION_ID, else the subscription `az account show` names.\nRun it again at any time: it only deletes what is still there.',
    )
    .action(action('nuke', (flags: NukeFlags) => lazy().nuke(flags)));
}
