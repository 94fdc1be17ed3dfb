// `benchfleet deploy`: the meta stack (API, table, buckets, dashboard), outputs kept in .benchfleet/.
import type { Command } from 'commander';
import { action } from '../lib/errors';
import { deployMeta } from '../lib/fleets';
import { type JsonFlag, out, printJson } from '../lib/options';
import { outputsFile } from '../lib/state';

export function register(program: Command): void {
  program
    .command('deploy')
    .description(
      'deploy (or update) the meta stack: API, table, buckets, dashboard; outputs go to .benchfleet/outputs.json',
    )
    .option('--json', 'print the stack outputs as JSON on stdout')
    .addHelpText(
      'after',
      '\nNeeds AWS credentials. BENCHFLEET_CDK overrides the command (default `npx cdk`): split into words as a shell\n' +
        "does, expanding nothing (quote a path with blanks); its relative paths are the current folder's.",
    )
    .action(
      action('deploy', async (flags: JsonFlag) => {
        // cdk would put the stack in us-east-1 on its own, where the other commands would not look
        const { requireAwsRegion } = require('../lib/aws-region') as typeof import('../lib/aws-region');
        await requireAwsRegion('benchfleet deploy puts the meta stack in that region.');
        const outputs = await deployMeta();
        if (flags.json) return printJson(outputs);
        out(`\nDeployed. Outputs saved to ${outputsFile()}`);
        out(`  API:       ${outputs.ApiUrl}`);
        out(`  dashboard: ${outputs.DashboardUrl}`);
        out(`  results:   s3://${outputs.ResultsBucket}`);
        out('Next: `benchfleet start --config runs/example.json`');
      }),
    );
}
