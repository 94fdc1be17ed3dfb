// The flow behind `benchfleet nuke` (cli/commands/nuke.ts): IaC destroy, the tagged sweep, the
// second look. Kept apart from the command so `benchfleet --help` does not load the cloud SDKs.

import { awsRegion } from './aws-region';
import { azureEnvOnce, destroyAzureFleet } from './azure-fleet';
import { AWS_REGION_HINT, CliError, describe, NO_AWS_REGION } from './errors';
import { runTool, toolAvailable } from './exec';
import { planRegion, settleStack } from './fleets';
import { atWork, latestRun } from './latest-run';
import { out, printJson } from './options';
import { confirm } from './preflight';
import {
  FLEET_STACK,
  fleetFile,
  META_STACK,
  outputsFile,
  outputsRegion,
  readOutputsIfAny,
  removeFile,
  runsWithFiles,
  stateDir,
} from './state';
import { type SweepStep, summarize, sweep, TAG_KEY } from './sweep';
import { awsClients, awsSteps, destroyClients } from './sweep-aws';
import { azureSteps } from './sweep-azure';

export interface NukeFlags {
  dryRun?: boolean;
  yes?: boolean;
  json?: boolean;
  project: string;
  aws: boolean;
  azure: boolean;
}

const log = (line = ''): boolean => process.stderr.write(`${line}\n`);

export async function nuke(flags: NukeFlags): Promise<void> {
  const dryRun = Boolean(flags.dryRun);
  const azAvailable = flags.azure && (await toolAvailable('az'));
  const losses = flags.aws ? await whatIsLost() : [];
  for (const l of losses) log(`${dryRun ? 'note' : 'warning'}: ${l}`);
  if (!dryRun && !flags.yes) {
    const where = [
      flags.aws && `AWS (${process.env.AWS_REGION ?? "your profile's region"})`,
      azAvailable && 'Azure',
    ]
      .filter(Boolean)
      .join(' and ');
    if (
      !(await confirm(
        `Delete every Benchfleet stack and every resource tagged ${TAG_KEY}=${flags.project} in ${where}?`,
        'delete',
      ))
    ) {
      throw new CliError('cancelled: nothing was deleted');
    }
  }
  const notes: string[] = [];
  const stacksDestroyed = flags.aws && (await destroyStacks(dryRun, notes));
  if (flags.azure) await destroyAzureRuns(dryRun, notes);

  const steps: SweepStep[] = [];
  const clients = flags.aws ? awsClients() : undefined;
  if (clients) steps.push(...awsSteps(clients, flags.project));
  if (flags.azure) {
    if (azAvailable) {
      const subscription = process.env.ARM_SUBSCRIPTION_ID?.trim() || undefined;
      steps.push(...azureSteps(flags.project, subscription));
      notes.push(
        subscription
          ? `the Azure sweep looked in subscription ${subscription} (ARM_SUBSCRIPTION_ID)`
          : "the Azure sweep looked in az's current subscription (`az account show`); set ARM_SUBSCRIPTION_ID to sweep another",
      );
    } else
      notes.push(
        'az was not found: the Azure sweep was skipped (install the Azure CLI, or pass --no-azure if this account never ran Azure fleets)',
      );
  }
  log(`\n== ${dryRun ? 'dry run: ' : ''}sweep of resources tagged ${TAG_KEY}=${flags.project} ==`);
  let report: Awaited<ReturnType<typeof sweep>>;
  try {
    // a dry run's summary follows at once, naming what could not be listed: said there only
    report = await sweep(steps, { dryRun, logSkips: !dryRun || Boolean(flags.json) });
  } finally {
    if (clients) destroyClients(clients);
  }
  const survivors = report.left.filter((r) => !r.deleting);
  // Recorded Azure fleets that terraform did not destroy, when no sweep looked for them either
  // (no az): their VMs may bill on, so nothing here is done.
  const azureUnchecked = flags.azure && !azAvailable ? runsWithFiles('azure') : [];
  if (azureUnchecked.length > 0) {
    notes.push(
      `the Azure fleet${azureUnchecked.length > 1 ? 's' : ''} of run${azureUnchecked.length > 1 ? 's' : ''} ${azureUnchecked.join(', ')} (recorded in ${stateDir()}) ${dryRun ? 'cannot be' : azureUnchecked.length > 1 ? 'were not' : 'was not'} destroyed or swept without az: install the Azure CLI, \`az login\`, and run nuke again`,
    );
  }
  // Azure asked for (the default) but not looked at: its resource groups may be up unseen
  const azureNotChecked = flags.azure && !azAvailable;
  const gone =
    survivors.length === 0 && report.failed.length === 0 && report.skipped.length === 0 && !azureNotChecked;
  if (stacksDestroyed && gone) await forgetDeployment(notes);
  const lines = summarize(report, dryRun);
  if (flags.json) printJson({ dry_run: dryRun, ...report, notes });
  else {
    log('');
    for (const l of [...lines, ...notes.map((n) => `note: ${n}`)]) out(l);
  }
  if (!gone) {
    throw new CliError(
      survivors.length
        ? `${survivors.length} resource(s) are left; see the list above`
        : report.failed.length
          ? `${report.failed.length} resource(s) could not be deleted; see above`
          : azureUnchecked.length
            ? `the Azure fleet(s) of run(s) ${azureUnchecked.join(', ')} may still be up and billing: without the Azure CLI nuke could neither destroy nor sweep them; install it, \`az login\`, and run nuke again`
            : azureNotChecked && report.skipped.length === 0
              ? 'Azure was not checked, as the Azure CLI (az) was not found: install it, `az login`, and run nuke again, or pass --no-azure if this account never ran Azure fleets'
              : report.skipped.some((s) => s.includes(NO_AWS_REGION))
                ? `nothing in AWS could be checked, as no AWS region is set: ${AWS_REGION_HINT}, then run it again${report.skipped.length > 1 ? ' (see "not checked" above for the rest)' : ''}`
                : 'not every provider could be checked (see "not checked" above); fix that and run it again',
    );
  }
}

/**
 * What nuke takes that a person may still want, for the deployment this folder records: a run in
 * progress (a teammate's, maybe) and the archives in the results bucket. Nothing when this folder
 * has no record or the API does not answer: the prompt then says what it always says.
 */
async function whatIsLost(): Promise<string[]> {
  // an unreadable record (a deploy that failed half-way) is no reason not to clean up
  const outputs = readOutputsIfAny();
  if (!outputs) return [];
  const lines: string[] = [];
  const latest = await latestRun(outputs.ApiUrl);
  const run = 'run' in latest ? latest.run : undefined;
  if (atWork(run)) {
    lines.push(
      `run ${run.run_id} is still ${run.status} on this deployment: nuke ends it, with its fleets, and its results are lost (\`benchfleet stop ${run.run_id}\`, then \`benchfleet download ${run.run_id}\` once it has ended, keeps what completed)`,
    );
  }
  lines.push(
    `the results bucket ${outputs.ResultsBucket} is deleted with every run's archive in it: \`benchfleet download RUN_ID\` first what you want to keep`,
  );
  return lines;
}

/**
 * Once the stacks are destroyed and nothing is left, this folder's record of the deployment names
 * one that is gone: `status`, `download` and `teardown` would go on asking its API. It is removed,
 * unless it records a deployment in another region than the one nuke emptied.
 */
async function forgetDeployment(notes: string[]): Promise<void> {
  const outputs = readOutputsIfAny(); // an unreadable record is for `benchfleet deploy` to replace
  if (!outputs) return;
  const recorded = outputsRegion(outputs);
  const here = await awsRegion();
  if (recorded !== here) {
    notes.push(
      `kept ${outputsFile()}: it records a deployment in ${recorded ?? 'an unknown region'}, not in ${here}, where the stacks were destroyed`,
    );
    return;
  }
  removeFile(outputsFile());
  notes.push(
    `removed ${outputsFile()}: the deployment it recorded is gone (\`benchfleet deploy\` makes a new one)`,
  );
}

/**
 * cdk destroy of the Benchfleet stacks; a failure is only a warning, the sweep deletes leftover
 * stacks. Answers whether cdk destroyed them.
 */
async function destroyStacks(dryRun: boolean, notes: string[]): Promise<boolean> {
  const region = await awsRegion();
  // A fleet recorded in another region is not this nuke's: cdk destroy here would succeed on a
  // stack that is not there, and dropping its record would leave that fleet unknown to teardown.
  const elsewhere = runsWithFiles('fleet').filter((id) => {
    const planned = planRegion(id);
    return planned !== undefined && planned !== region;
  });
  for (const id of elsewhere) {
    const planned = planRegion(id);
    notes.push(
      `run ${id}'s AWS fleet is in ${planned}, not ${region ?? 'this region'}: its record is kept; \`AWS_REGION=${planned} benchfleet nuke\` removes it there`,
    );
  }
  const fleetRuns = runsWithFiles('fleet').filter((id) => !elsewhere.includes(id));
  const latest = fleetRuns.at(-1);
  // The fleet stack needs its plan to synthesize; without a fleet file the sweep deletes it by name.
  const args = [
    'destroy',
    ...(latest !== undefined ? [FLEET_STACK, '-c', `fleetPlan=${fleetFile(latest)}`] : []),
    META_STACK,
    '--force',
  ];
  if (!region) {
    // cdk would act on us-east-1 on its own; the sweep says the same and how to set a region
    notes.push('cdk destroy was skipped: no AWS region is set');
    return false;
  }
  if (dryRun) {
    log(`would run: cdk ${args.join(' ')}`);
    return false;
  }
  try {
    // a stack still being deployed (an interrupted deploy goes on in AWS) cannot be deleted yet
    for (const name of [FLEET_STACK, META_STACK]) await settleStack(name, (line) => log(`  ${line}`));
    await runTool('cdk', args, { heading: 'cdk destroy of the Benchfleet stacks' });
    for (const id of fleetRuns) removeFile(fleetFile(id));
    return true;
  } catch (err) {
    const msg = `cdk destroy failed (${describe(err)}); the sweep deletes leftover stacks directly`;
    log(msg);
    notes.push(msg);
    return false;
  }
}

async function destroyAzureRuns(dryRun: boolean, notes: string[]): Promise<void> {
  const runs = runsWithFiles('azure');
  if (runs.length === 0) return;
  if (dryRun) {
    for (const id of runs) log(`would run: terraform destroy of run ${id}'s Azure fleet`);
    return;
  }
  if (!(await toolAvailable('terraform'))) {
    notes.push(
      'terraform was not found: skipped terraform destroy; the Azure sweep deletes the resource groups',
    );
    return;
  }
  const azureEnv = azureEnvOnce();
  try {
    await azureEnv();
  } catch (err) {
    const msg = `skipped terraform destroy (${describe(err)}); the Azure sweep deletes the resource groups`;
    log(msg);
    notes.push(msg);
    return;
  }
  for (const id of runs) {
    try {
      await destroyAzureFleet(id, azureEnv);
    } catch (err) {
      const msg = `terraform destroy of run ${id} failed (${describe(err)}); the Azure sweep deletes its resource group`;
      log(msg);
      notes.push(msg);
    }
  }
}
