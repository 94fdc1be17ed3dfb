// The flow behind `benchfleet teardown [RUN_ID]` (cli/commands/teardown.ts): the fleets of runs
// this folder launched, and nothing else. What `--keep-fleet`, a lost watch or a failed teardown
// left up goes; the meta stack, the results bucket with its archives, and the fleets of a run
// still at work stay. `nuke` is the one that removes everything.

import { azureEnvOnce, azureStatesHeld, destroyAzureFleet } from './azure-fleet';
import { CliError, describe } from './errors';
import { destroyAwsFleet } from './fleets';
import { atWork, latestRun, recordedApiUrl } from './latest-run';
import { out, printJson, runIdArg } from './options';
import { runsWithFiles, stateDir } from './state';

export interface TeardownFlags {
  json?: boolean;
}

type Outcome = 'torn down' | `failed: ${string}` | `left alone: ${string}` | null;

interface RunTeardown {
  run_id: number;
  aws: Outcome;
  azure: Outcome;
}

const log = (line = ''): boolean => process.stderr.write(`${line}\n`);

const outcome = (teardown: Promise<void>): Promise<Outcome> =>
  teardown.then(
    () => 'torn down' as const,
    (err: unknown) => `failed: ${describe(err)}` as const,
  );

export async function teardown(given: string | undefined, flags: TeardownFlags): Promise<void> {
  const wanted = given === undefined ? undefined : runIdArg(given);
  const aws = runsWithFiles('fleet');
  const azure = runsWithFiles('azure');
  const recorded = [...new Set([...aws, ...azure])].sort((a, b) => a - b);
  const runs = wanted === undefined ? recorded : recorded.filter((id) => id === wanted);
  if (runs.length === 0) {
    // nothing to do is no failure: a teardown that already went through, run again
    const what = wanted === undefined ? 'no fleet of any run is' : `no fleet of run ${wanted} is`;
    // records are per folder, terraform's states per checkout: one started from another folder
    const held = azureStatesHeld().filter((id) => wanted === undefined || id === wanted);
    if (held.length > 0) {
      log(
        `note: this checkout's terraform-azure/ still holds the Azure fleet${held.length > 1 ? 's' : ''} of run${held.length > 1 ? 's' : ''} ${held.join(', ')}, which ${stateDir()} has no record of: run \`benchfleet teardown\` in the folder that started ${held.length > 1 ? 'them' : 'it'}, or \`benchfleet nuke\``,
      );
    }
    if (flags.json) return printJson({ runs: [], azure_states_unrecorded: held });
    return out(
      `${what} recorded in ${stateDir()} (torn down already?): nothing to tear down here. \`benchfleet nuke --dry-run\` lists everything tagged in the clouds`,
    );
  }
  // What the deployment is doing decides what may go: never a run at work, nor (unless named) one
  // the API has not seen yet, whose start may be launching it right now.
  const api = recordedApiUrl();
  if ('none' in api) {
    throw new CliError(
      `${api.none}, so whether a run is at work there cannot be told: nothing was torn down. \`benchfleet deploy\` records it again; \`benchfleet nuke\` removes everything`,
    );
  }
  const latest = await latestRun(api.url, 5);
  if ('unknown' in latest) {
    throw new CliError(
      `could not tell whether a run is at work on this deployment (${describe(latest.unknown)}), so nothing was torn down: try again in a minute, or \`benchfleet nuke\` removes everything`,
      { cause: latest.unknown },
    );
  }
  const current = latest.run;
  if (wanted !== undefined && atWork(current) && current.run_id === wanted) {
    throw new CliError(
      `run ${wanted} is still ${current.status}: its fleets are at work. \`benchfleet stop ${wanted}\` ends it; its own \`start\` then tears them down, or run this again once it has ended`,
    );
  }
  const spared = (id: number): string | undefined => {
    if (atWork(current) && current.run_id === id) return `its run is still ${current.status}`;
    if (wanted === undefined && id > (current?.run_id ?? 0))
      return `its run has not started (a start may be launching it: \`benchfleet teardown ${id}\` if none is)`;
    return undefined;
  };
  const azureEnv = azureEnvOnce();
  const report: RunTeardown[] = [];
  for (const id of runs) {
    const entry: RunTeardown = { run_id: id, aws: null, azure: null };
    report.push(entry);
    const why = spared(id);
    if (why !== undefined) {
      log(`run ${id}'s fleets are left alone: ${why}`);
      if (aws.includes(id)) entry.aws = `left alone: ${why}`;
      if (azure.includes(id)) entry.azure = `left alone: ${why}`;
      continue;
    }
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
    const runs = new Set(report.filter((r) => r.aws?.startsWith('failed') || r.azure?.startsWith('failed')));
    const again = runs.size === 1 ? `benchfleet teardown ${[...runs][0]?.run_id}` : 'benchfleet teardown';
    throw new CliError(
      `${failed.join(', ')} could not be torn down and may still be billing: run \`${again}\` again, or \`benchfleet nuke\` to remove everything`,
    );
  }
}
