// `benchfleet start --config FILE`: the spec's master script. Run id, preflight, meta stack, the
// AWS and Azure fleets in parallel, POST /run/start, live progress, archive into results/<id>/,
// site, and the fleets torn down (unless --keep-fleet). The flow lives in cli/lib/start-run.ts.
import { type Command, Option } from 'commander';
import { action } from '../lib/errors';
import type { StartFlags } from '../lib/start-run';

// Loaded on use (require: tsx runs the CLI as CommonJS) so `benchfleet --help` skips the cloud SDKs.
const lazy = () => require('../lib/start-run') as typeof import('../lib/start-run');

export function register(program: Command): void {
  program
    .command('start')
    .description(
      'run a benchmark in the cloud: deploy, launch the fleets, watch, download results/<run-id>/, build the site, tear the fleets down',
    )
    .requiredOption(
      '-c, --config <file>',
      "run config (JSON with comments), e.g. runs/example.json; or a results folder: that run's config again, its commit and image pinned",
    )
    .option('-y, --yes', 'launch without asking for confirmation')
    .option(
      '--keep-fleet',
      'leave the runner fleets up after the run (remove them later with `benchfleet teardown RUN_ID`)',
    )
    .option('--json', 'print a JSON summary on stdout (progress stays on stderr)')
    .option('--task-minutes <n>', 'minutes one task is expected to take, for the cost estimate', '30')
    .option(
      '--max-vm-hours <h>',
      "hours after boot at which every runner VM powers itself off (Azure: deallocates) whatever its runner is doing, a safety net for a hung runner; 1 to 168 (default: derived from the run's task timeout and max_attempts, 5 h for most runs)",
    )
    .option(
      '--azure-region <region>',
      'Azure region of the fleet',
      process.env.BENCHFLEET_AZURE_REGION ?? 'eastus',
    )
    .option(
      '--ssh-public-key <file>',
      'OpenSSH public key for the Azure bastion (default: ~/.ssh/id_ed25519.pub or id_rsa.pub)',
    )
    .addOption(
      new Option(
        '--ssh-cidr <cidr>',
        'address range allowed to SSH to the Azure bastion, e.g. 203.0.113.7/32; repeat for more',
      )
        .argParser((value: string, previous: string[]) => [...previous, value])
        .default([] as string[], 'none, SSH closed'),
    )
    .option(
      '--results-dir <dir>',
      'where results/<run-id>/ goes (default: results, or BENCHFLEET_RESULTS_DIR)',
    )
    .option(
      '--api-key <key>',
      "operator key, checked against the deployment's (default: BENCHFLEET_API_KEY, else read from the deployment's Secrets Manager secret)",
    )
    .addHelpText(
      'after',
      '\nNeeds AWS credentials (and `az login` plus terraform for Azure types). Tools: BENCHFLEET_CDK (default `npx cdk`),\nBENCHFLEET_TERRAFORM, BENCHFLEET_AZ override the commands: split into words as a shell does, expanding nothing (quote a\n' +
        "path with blanks); their relative paths are the current folder's. State is kept in .benchfleet/.\n" +
        'Ctrl-C (or SIGTERM, SIGHUP) during the launch, the download or the teardown tears the fleets down before quitting\n' +
        '(not with --keep-fleet once the run has ended); a second one quits at once. During the watch the run goes on.',
    )
    .action(action('start', (flags: StartFlags) => lazy().start(flags)));
}
