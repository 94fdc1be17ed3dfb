// `benchfleet deploy`: the meta stack (API, table, buckets, dashboard), outputs kept in .benchfleet/.
import type { Command } from 'commander';
import { action, CliError, describe } from '../lib/errors';
import { type JsonFlag, out, printJson } from '../lib/options';
import { outputsFile, outputsRegion, readOutputsIfAny } from '../lib/state';

// Loaded on use (require: tsx runs the CLI as CommonJS), as start's are: at the top, fleets.ts and
// the EC2 client under it cost every command, `--help` included, over half a second to load.
const fleets = () => require('../lib/fleets') as typeof import('../lib/fleets');
const runs = () => require('../lib/latest-run') as typeof import('../lib/latest-run');

export function register(program: Command): void {
  program
    .command('deploy')
    .description(
      'deploy (or update) the meta stack: API, table, buckets, dashboard; outputs go to .benchfleet/outputs.json',
    )
    .option('--json', 'print the stack outputs as JSON on stdout')
    .option(
      '--force',
      "deploy even while a run is at work on the deployment: its API's Lambdas and its dashboard change under it",
    )
    .addHelpText(
      'after',
      '\nNeeds AWS credentials. BENCHFLEET_CDK overrides the command (default `npx cdk`): split into words as a shell\n' +
        "does, expanding nothing (quote a path with blanks); its relative paths are the current folder's.",
    )
    .action(
      action('deploy', async (flags: JsonFlag & { force?: boolean }) => {
        // cdk would put the stack in us-east-1 on its own, where the other commands would not look
        const { requireAwsRegion } = require('../lib/aws-region') as typeof import('../lib/aws-region');
        const region = await requireAwsRegion('benchfleet deploy puts the meta stack in that region.');
        if (!flags.force) await refuseRunAtWork(region);
        const outputs = await fleets().deployMeta();
        if (flags.json) return printJson(outputs);
        out(`\nDeployed. Outputs saved to ${outputsFile()}`);
        out(`  API:       ${outputs.ApiUrl}`);
        out(`  dashboard: ${outputs.DashboardUrl}`);
        out(`  results:   s3://${outputs.ResultsBucket}`);
        out('Next: `benchfleet start --config runs/example.json`');
      }),
    );
}

/**
 * A deploy swaps the API's Lambdas and the dashboard of a run at work: refused, as `start` refuses
 * to deploy over one, unless --force (a fix that cannot wait). An API that does not answer is no
 * reason to refuse: deploying may be what mends it.
 */
async function refuseRunAtWork(region: string): Promise<void> {
  const recorded = readOutputsIfAny();
  const apiUrl =
    recorded && outputsRegion(recorded) === region ? recorded.ApiUrl : await fleets().deployedApiUrl();
  if (!apiUrl) return; // nothing deployed in this region yet
  const { atWork, latestRun } = runs();
  const latest = await latestRun(apiUrl);
  if ('unknown' in latest) {
    process.stderr.write(
      `note: could not ask the API at ${apiUrl} whether a run is at work (${describe(latest.unknown)}); deploying anyway\n`,
    );
    return;
  }
  const run = latest.run;
  if (atWork(run)) {
    throw new CliError(
      `run ${run.run_id} is still ${run.status} on this deployment, and a deploy would change its API's Lambdas and its dashboard under it; wait for it (\`benchfleet watch\`), end it (\`benchfleet stop ${run.run_id}\`), or pass --force. Nothing was deployed.`,
    );
  }
}
