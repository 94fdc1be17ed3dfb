// The flow behind `benchfleet teardown [RUN_ID]` (cli/commands/teardown.ts): the fleets of runs
// this folder launched, and nothing else. What `--keep-fleet`, a lost watch or a failed teardown
// left up goes; the meta stack, the results bucket with its archives, and the fleets of a run
// still at work stay. `nuke` is the one that removes everything.
import { ApiClient, apiTarget } from './api';
import { CliError, describe } from './errors';
import { azureEnvOnce, destroyAwsFleet, destroyAzureFleet } from './fleets';
import { out, printJson, runIdArg } from './options';
import { readOutputs, runsWithFiles, stateDir } from './state';

export interface TeardownFlags {
  json?: boolean;
}

type Outcome = 'torn down' | `failed: ${string}` | 'left alone: its run is at work' | null;

interface RunTeardown {
  run_id: number;
  aws: Outcome;
  azure: Outcome;
}

const log = (line = ''): boolean => process.stderr.write(`${line}\n`);

export async function teardown(given: string | undefined, flags: TeardownFlags): Promise<void> {
  const wanted = given === undefined ? undefined : runIdArg(given);
  const aws = runsWithFiles('fleet');
  const azure = runsWithFiles('azure');
  const recorded = [...new Set([...aws, ...azure])].sort((a, b) => a - b);
  const runs = wanted === undefined ? recorded : recorded.filter((id) => id === wanted);
  if (runs.length === 0) {
    const what = wanted === undefined ? 'no fleet of any run is' : `no fleet of run ${wanted} is`;
    const text = `${what} recorded in ${stateDir()}: nothing to tear down here (\`benchfleet nuke --dry-run\` lists everything tagged in the clouds)`;
    if (wanted !== undefined) throw new CliError(text);
    if (flags.json) return printJson({ runs: [] });
    return out(text);
  }
  const atWork = await runAtWork();
  if (wanted !== undefined && atWork?.run_id === wanted) {
    throw new CliError(
      `run ${wanted} is still ${atWork.status}: its fleets are at work. \`benchfleet stop ${wanted}\` ends it; its own \`start\` then tears them down, or run this again once it has ended`,
    );
  }
  const azureEnv = azureEnvOnce();
  const report: RunTeardown[] = [];
  for (const id of runs) {
    const entry: RunTeardown = { run_id: id, aws: null, azure: null };
    report.push(entry);
    if (atWork?.run_id === id) {
      log(`run ${id} is still ${atWork.status}: its fleets are left alone`);
      if (aws.includes(id)) entry.aws = 'left alone: its run is at work';
      if (azure.includes(id)) entry.azure = 'left alone: its run is at work';
      continue;
    }
    const outcome = (p: Promise<void>): Promise<Outcome> =>
      p.then(
        () => 'torn down' as const,
        (err: unknown) => `failed: ${describe(err)}` as const,
      );
    [entry.aws, entry.azure] = await Promise.all([
      aws.includes(id) ? outcome(destroyAwsFleet(id)) : null,
      azure.includes(id) ? outcome(destroyAzureFleet(id, azureEnv)) : null,
    ]);
  }
  if (flags.json) printJson({ runs: report });
  else {
    log('');
    for (const r of report) {
      for (const provider of ['aws', 'azure'] as const) {
        if (r[provider] !== null) out(`run ${r.run_id}: ${provider} fleet ${r[provider]}`);
      }
    }
  }
  const failed = report.flatMap((r) =>
    (['aws', 'azure'] as const)
      .filter((p) => r[p]?.startsWith('failed'))
      .map((p) => `the ${p} fleet of run ${r.run_id}`),
  );
  if (failed.length > 0) {
    throw new CliError(
      `${failed.join(', ')} could not be torn down and may still be billing: run \`benchfleet teardown\` again, or \`benchfleet nuke\` to remove everything`,
    );
  }
}

/** The deployment's run still at work, from GET /run; none when this folder has no record or the API does not say. */
async function runAtWork(): Promise<{ run_id: number; status: string } | undefined> {
  const outputs = readOutputs();
  if (!outputs) return undefined;
  const run = await new ApiClient(apiTarget({ apiUrl: outputs.ApiUrl })).getRun().catch(() => undefined);
  return run && (run.status === 'running' || run.status === 'assembling') ? run : undefined;
}
