// `benchfleet deploy`: the meta stack (API, table, buckets, dashboard), outputs kept in .benchfleet/.
import type { Command } from 'commander';
import { action, CliError, describe } from '../lib/errors';
import { type JsonFlag, out, printJson } from '../lib/options';
import { FLEET_STACK, outputsFile, outputsRegion, readOutputsIfAny } from '../lib/state';

// Loaded on use (require: tsx runs the CLI as CommonJS), as start's are: at the top, fleets.ts and
// the EC2 client under it cost every command, `--help` included, over half a second to load.
const fleets = () => require('../lib/fleets') as typeof import('../lib/fleets');
const runs = () => require('../lib/latest-run') as typeof import('../lib/latest-run');
const guard = () => require('../lib/deploy-guard') as typeof import('../lib/deploy-guard');

export function register(program: Command): void {
  program
    .command('deploy')
    .description(
      'deploy (or update) the meta stack: API, table, buckets, dashboard; outputs go to .benchfleet/outputs.json',
    )
    .option('--json', 'print the stack outputs as JSON on stdout')
    .option(
      '--force',
      "deploy even while a run is at work on the deployment, or a start launches its fleet: its API's Lambdas and its dashboard change under it",
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
        if (!flags.force) await refuseBusyFleetStack(await refuseRunAtWork(region));
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
 * reason to refuse: deploying may be what mends it. Answers the API's latest run id (undefined:
 * none yet), or 'unknown' when no API answered.
 */
async function refuseRunAtWork(region: string): Promise<number | undefined | 'unknown'> {
  const recorded = readOutputsIfAny();
  const apiUrl =
    recorded && outputsRegion(recorded) === region ? recorded.ApiUrl : await fleets().deployedApiUrl();
  if (!apiUrl) return 'unknown'; // nothing deployed in this region yet
  const { atWork, latestRun } = runs();
  const latest = await latestRun(apiUrl);
  if ('unknown' in latest) {
    process.stderr.write(
      `note: could not ask the API at ${apiUrl} whether a run is at work (${describe(latest.unknown)}); that alone does not stop the deploy\n`,
    );
    return 'unknown';
  }
  const run = latest.run;
  if (atWork(run)) {
    throw new CliError(
      `run ${run.run_id} is still ${run.status} on this deployment, and a deploy would change its API's Lambdas and its dashboard under it; wait for it (\`benchfleet watch\`), end it (\`benchfleet stop ${run.run_id}\`), or pass --force. Nothing was deployed.`,
    );
  }
  return latest.run?.run_id; // not `run`: atWork, a type guard, narrowed it to undefined
}

/**
 * A run is not in the API until its start has launched its fleets (POST /run/start comes after
 * them), so the API check cannot see a teammate's start in those minutes; the fleet stack can. Its
 * VMs, booting, fetch the API and runner.js a deploy would replace: refused likewise, unless --force.
 */
async function refuseBusyFleetStack(latest: number | undefined | 'unknown'): Promise<void> {
  const inUse = await guard().fleetStackInUse(latest);
  if (!inUse) return;
  const whose = inUse.runId !== undefined ? `run ${inUse.runId}'s` : 'another';
  if (inUse.status === 'DELETE_IN_PROGRESS') {
    // a teardown: its VMs are going away, and fetch nothing more (start, which would deploy that
    // same stack, still waits for it)
    process.stderr.write(
      `note: the fleet stack ${FLEET_STACK} is being torn down (${whose} fleet); that does not stop the deploy\n`,
    );
    return;
  }
  const under = 'and a deploy would change the API and the runner its VMs get under it';
  if (inUse.unstarted && !inUse.busy) {
    throw new CliError(
      `the fleet stack ${FLEET_STACK} holds ${whose} fleet, and that run has not started: another start is launching it, ${under}; wait for that start (\`benchfleet status\`), or if no start is launching it any more, \`benchfleet teardown ${inUse.runId}\` from the folder that launched it removes it; or pass --force. Nothing was deployed.`,
    );
  }
  throw new CliError(
    `the fleet stack ${FLEET_STACK} is ${inUse.status} with ${whose} fleet: another start or teardown is at work on this deployment, ${under}; wait for it to end (\`benchfleet status\`), or pass --force. Nothing was deployed.`,
  );
}
