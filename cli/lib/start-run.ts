// The flow behind `benchfleet start` (cli/commands/start.ts): run id, preflight, meta stack, the
// AWS and Azure fleets in parallel, POST /run/start, live progress, archive, site, teardown.
// Kept apart from the command so `benchfleet --help` does not load the cloud SDKs.
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { isCidr } from '../../lambdas/shared/azure-tfvars';
import { imageFor, type RunConfig, type RunView } from '../../lambdas/shared/contract';
import { estimateCost, type FleetPlan, planFleet } from '../../lambdas/shared/fleet-plan';
import { UnknownInstanceTypeError } from '../../lambdas/shared/instance-types';
import { defaultMaxVmHours, MAX_MAX_VM_HOURS, MIN_MAX_VM_HOURS } from '../../lambdas/shared/vm-life';
import { loadRunConfig, refuseStaleRunId } from '../config';
import { ApiClient, apiTarget, checkGivenKey } from './api';
import { resultsRootFor } from './archive';
import { requireAwsRegion } from './aws-region';
import { azureStatesHeld, azureTerraformEnv } from './azure-fleet';
import { fleetStackInUse } from './deploy-guard';
import { CliError, describe, ToolMissingError } from './errors';
import { toolAvailable } from './exec';
import { type AzureOptions, deployedApiUrl, deployMeta, fleetLaunches } from './fleets';
import { preflightImage } from './image-check';
import { atWork, latestRun } from './latest-run';
import { exitCodeFor, QUIT_WORDS, type QuitSignal } from './local-signals';
import { printJson } from './options';
import { placeAwsFleet } from './placement';
import {
  checkAwsQuotas,
  checkAzureQuotas,
  confirm,
  formatPreflight,
  type PreflightReport,
  shortQuotaError,
  tryQuota,
} from './preflight';
import { watchRun } from './progress';
import { type ResultsReport, saveResults } from './results';
import { readSshPublicKey } from './ssh-key';
import { afterRunPlan, type Fleets, launchAndStart, teardown } from './start-fleets';
import { StartSignals } from './start-signals';
import { FLEET_STACK, outputsRegion, readOutputs, runsWithFiles, stateDir } from './state';
import { forTerminal } from './terminal';

export interface StartFlags {
  config: string;
  yes?: boolean;
  keepFleet?: boolean;
  json?: boolean;
  taskMinutes: string;
  maxVmHours?: string;
  azureRegion: string;
  sshPublicKey?: string;
  sshCidr?: string[];
  resultsDir?: string;
  apiKey?: string;
}

const log = (line = ''): boolean => process.stderr.write(`${line}\n`);

export async function start(flags: StartFlags): Promise<void> {
  const maxVmHours = maxVmHoursFlag(flags.maxVmHours);
  const config = loadRunConfig(flags.config);
  resultsRootFor(flags.resultsDir); // a blank --results-dir or BENCHFLEET_RESULTS_DIR: refused now, not after the run
  const plan = planOf(config, maxVmHours);
  if (plan.aws.length + plan.azure.length === 0) {
    throw new CliError(
      `${flags.config} lists only local instance types: run it with \`benchfleet local --config ${flags.config}\``,
    );
  }
  // Every cloud run deploys its API (the meta stack) to AWS, and preflight asks EC2 and Service
  // Quotas about the AWS types: without a region none of that can be checked (and cdk would pick
  // us-east-1 on its own), so stop here rather than warn and deploy.
  const region = await requireAwsRegion(
    plan.aws.length > 0
      ? "benchfleet start deploys its API to AWS and checks the AWS types' availability zones and vCPU quotas there first."
      : 'benchfleet start deploys its API (the meta stack) to AWS, even for an Azure-only run.',
  );
  const azure = plan.azure.length > 0 ? await azureOptions(flags) : undefined;

  // The fleet stack is one per deployment: launching a new fleet would replace a running run's VMs.
  // Looked at here, before anything is deployed (a folder with no record of the deployment asks
  // CloudFormation: deploying this checkout's meta stack under a run at work would swap its
  // Lambdas), and again once it is deployed, below.
  // A record of a deployment in another region names another API: this region's is asked instead.
  const recorded = readOutputs();
  const recordedHere = recorded && outputsRegion(recorded) === region ? recorded : undefined;
  const apiBefore = recordedHere?.ApiUrl ?? (await deployedApiUrl());
  const before = apiBefore === undefined ? undefined : await latestRunAt(apiBefore, false);
  const latest = before?.run?.run_id;
  refuseStaleRunId(config, flags.config, latest, "on this folder's deployment"); // before any fleet
  let runId = nextRunId(config, latest);
  const report = await preflight(config, plan, flags, azure);
  for (const line of formatPreflight(report)) log(line);
  if (plan.local.length) {
    log(
      `  note: local types (${plan.local.join(', ')}) get tasks too; point a local runner at the API to serve them`,
    );
  }
  // An Azure fleet has a resource group of its own, so one kept up (--keep-fleet, a lost watch)
  // bills beside this run's until it is torn down.
  const kept = runsWithFiles('azure').filter((id) => id !== runId);
  if (kept.length > 0) {
    log(
      `  note: the Azure fleet${kept.length > 1 ? 's' : ''} of run${kept.length > 1 ? 's' : ''} ${kept.join(', ')} may still be up and billing (recorded in ${stateDir()}): ${kept.map((id) => `\`benchfleet teardown ${id}\``).join(', ')} ${kept.length > 1 ? 'remove them' : 'removes it'} (bare \`benchfleet teardown\` leaves a run the API has not seen, whose start may still be launching it)`,
    );
  }
  // records are per folder, terraform's states per checkout: fleets another folder started
  const elsewhere = azureStatesHeld().filter((id) => id !== runId && !kept.includes(id));
  if (elsewhere.length > 0) {
    log(
      `  note: this checkout's terraform-azure/ still holds the Azure fleet${elsewhere.length > 1 ? 's' : ''} of run${elsewhere.length > 1 ? 's' : ''} ${elsewhere.join(', ')}, which ${stateDir()} has no record of: they may be up and billing; \`benchfleet teardown\` in the folder that started them removes them`,
    );
  }
  const short = shortQuotaError(report.quotas);
  if (short) throw short;
  if (
    !flags.yes &&
    !(await confirm(
      `Launch run ${runId} with ${plan.total_vms} VM(s), about $${report.estimate.total_usd.toFixed(2)}?`,
      'launch',
    ))
  ) {
    throw new CliError('cancelled: nothing was launched');
  }

  // Another start launching its fleet: its run is not in the API yet, so the look above could not
  // see it, and deploying this checkout's meta stack now would swap the API and the runner.js its
  // VMs fetch as they boot. Looked at last thing before the deploy (a prompt may have waited long),
  // for every run, Azure-only too: the deploy changes the API all the same.
  await refuseBusyFleetStack(runId, before ? latest : 'unknown', false);
  log(`\nRun ${runId}: deploying`);
  const outputs = await deployMeta();
  // A folder without the deployment's outputs (another machine, a teammate's clone) could not look
  // before; and another start may have come in meanwhile. Still nothing is launched.
  const onDeployment = await latestRunAt(outputs.ApiUrl, true);
  const current = onDeployment?.run?.run_id;
  refuseStaleRunId(config, flags.config, current, 'on this deployment');
  if (current !== undefined && current >= runId) {
    runId = nextRunId(config, current);
    log(`  run ids up to ${current} are taken on this deployment: this run is ${runId}`);
  }
  // Again now: another start may have begun its launch during the deploy (minutes), and with no
  // API that answered before it (a first deploy, one not answering), only a stack at work counted.
  if (plan.aws.length > 0) await refuseBusyFleetStack(runId, current, true);
  const target = apiTarget({ apiUrl: outputs.ApiUrl, ...(flags.apiKey && { apiKey: flags.apiKey }) });
  const note = await checkGivenKey(target, outputs.OperatorKeySecretArn, runId, outputs.RunnerKeySecretArn);
  if (note) log(`  note: ${note}`);
  const api = new ApiClient(target);
  // The plan as preflight placed it: each AWS type in a zone that offers it.
  const launches = fleetLaunches(
    runId,
    config,
    report.plan,
    outputs,
    azure,
    deploymentClock(onDeployment?.clockOffsetMs),
  );
  const fleets: Fleets = { runId, flags, standing: new Set(launches) };
  // From here to the end of the teardown (but for the watch), a quit tears the fleets down first.
  const quit = new StartSignals({ say: log });
  try {
    await launchAndStart(quit, fleets, api, { ...config, run_id: runId }, outputs.DashboardUrl);
  } finally {
    quit.dispose();
  }

  // A quit during the watch leaves the run to go on in the cloud, as a Ctrl-C always did: SIGTERM
  // (a job runner, `kill`) and SIGHUP (a closed terminal) too, saying so rather than dying mute.
  const stopHint = (signal: QuitSignal): void => {
    log(
      `\n${QUIT_WORDS[signal]}. Run ${runId} goes on in the cloud: \`benchfleet watch\` to follow it, \`benchfleet stop ${runId}\` to end it,`,
    );
    log(
      `\`benchfleet download ${runId}\` for its results, \`benchfleet teardown ${runId}\` once it has ended for its fleets (until then they bill), \`benchfleet nuke\` to remove everything.`,
    );
    process.exit(exitCodeFor(signal));
  };
  for (const signal of WATCH_QUITS) process.once(signal, stopHint);
  let final: RunView;
  try {
    // a network down for a while (a laptop's wifi) is waited out: giving up would leave the fleets
    final = await watchRun(api, { withKey: true, runId, patienceMs: report.plan.max_vm_hours * 3_600_000 });
  } catch (err) {
    log(
      `Lost track of run ${runId}; its fleets are left up. Resume with \`benchfleet watch\`; once the run has ended, \`benchfleet teardown ${runId}\` removes its fleets.`,
    );
    throw err;
  } finally {
    for (const signal of WATCH_QUITS) process.removeListener(signal, stopHint);
  }

  let results: ResultsReport | undefined;
  let unpacked: string | undefined;
  let downloadError: unknown;
  const gzipUrl = final.gzip_url;
  quit.guard(afterRunPlan(fleets, () => ({ dir: unpacked, site: Boolean(results?.site) }), Boolean(gzipUrl)));
  try {
    if (gzipUrl) {
      try {
        // A quit stops it rather than wait: the archive stays in S3, the half-written copy is removed.
        results = await quit.step(
          (quitting) =>
            saveResults(runId, { url: gzipUrl }, flags.resultsDir, quitting, (dir) => {
              unpacked = dir;
            }),
          false,
        );
      } catch (err) {
        downloadError = err;
        log(`the download failed (${describe(err)}); retry with \`benchfleet download ${runId}\``);
      }
    }
    await teardown(fleets, false, quit);
  } finally {
    quit.dispose();
  }
  // what a failed teardown left standing (with --keep-fleet, nothing was torn down on purpose)
  const leftUp = flags.keepFleet ? [] : [...fleets.standing].map((l) => l.provider);

  const summary = {
    run_id: runId,
    status: final.status,
    tasks: final.tasks,
    assembly_error: final.assembly_error,
    results_dir: results?.results_dir ?? null,
    previous_results: results?.previous_results ?? null,
    site: results?.site ?? null,
    dashboard_url: outputs.DashboardUrl,
    api_url: outputs.ApiUrl,
    fleets_kept: Boolean(flags.keepFleet),
    max_vm_hours: report.plan.max_vm_hours,
    fleets_left_up: leftUp,
  };
  if (flags.json) printJson(summary);
  else {
    log(
      `\nRun ${runId} ended ${final.status}: ${final.tasks.completed} completed, ${final.tasks.failed} failed, ${final.tasks.cancelled} cancelled`,
    );
    if (results) log(`  results:   ${results.results_dir}`);
    if (results?.previous_results)
      log(`  kept:      ${results.previous_results.moved_to} (what was there before)`);
    if (results?.site) log(`  site:      ${results.site}`);
    log(`  dashboard: ${outputs.DashboardUrl}`);
    log(
      flags.keepFleet
        ? `  fleets:    kept up (--keep-fleet); \`benchfleet teardown ${runId}\` removes them`
        : leftUp.length > 0
          ? `  fleets:    NOT torn down: ${leftUp.join(' and ')} (see above); \`benchfleet teardown ${runId}\` tries again`
          : '  fleets:    torn down; the meta stack stays for the next run',
    );
  }
  // first: what is left up bills by the hour, and a script must not take this run for a clean one
  if (leftUp.length > 0) {
    throw new CliError(
      `the ${leftUp.join(' and ')} fleet${leftUp.length > 1 ? 's' : ''} of run ${runId} could not be torn down and may still be billing: run \`benchfleet teardown ${runId}\` until it reports them torn down, or \`benchfleet nuke\``,
    );
  }
  if (final.status === 'assembly_failed') {
    throw new CliError(
      `the archive of run ${runId} could not be assembled: ${forTerminal(final.assembly_error ?? 'no reason given')}; \`benchfleet assemble\` builds it again (the uploaded results are kept), then \`benchfleet download ${runId}\``,
    );
  }
  if (!final.gzip_url)
    throw new CliError(`run ${runId} ended without an archive URL; try \`benchfleet download ${runId}\``);
  if (downloadError)
    throw new CliError(
      `run ${runId} finished but its archive was not saved (see above); \`benchfleet download ${runId}\` fetches it again`,
    );
}

/**
 * The fleet stack is one per deployment. While another start (a teammate's) launches its run, that
 * run is not in the API yet (POST /run/start comes after the fleets), so the API check cannot see
 * it; the stack can: it is being deployed or removed, or it holds the fleet of a run newer than the
 * API's latest (fleetStackInUse). Deploying the meta stack would swap the API under those VMs, and
 * launching this run's fleet would replace them. `deployed`: whether this start deployed the meta
 * stack already.
 */
async function refuseBusyFleetStack(
  runId: number,
  latest: number | undefined | 'unknown',
  deployed: boolean,
): Promise<void> {
  const inUse = await fleetStackInUse(latest, runId);
  if (!inUse) return;
  const whose = inUse.runId !== undefined ? `run ${inUse.runId}'s` : 'another';
  const why = inUse.busy
    ? `is ${inUse.status} with ${whose} fleet: another start or teardown is at work on this deployment`
    : `holds ${whose} fleet, and that run has not started: another start is launching it`;
  throw new CliError(
    `the fleet stack ${FLEET_STACK} ${why}, so run ${runId} ${deployed ? 'launched nothing' : 'deployed nothing and launched nothing'}. Try again once it is done (\`benchfleet status\`)${inUse.unstarted && inUse.runId !== undefined ? `; if no start is launching it any more, \`benchfleet teardown ${inUse.runId}\` from the folder that launched it, or \`benchfleet nuke\`, removes it` : ''}`,
  );
}

/** The config's run id, else the time in seconds, past the deployment's latest run id. */
const nextRunId = (config: RunConfig, latest: number | undefined): number =>
  config.run_id ?? Math.max(Math.floor(Date.now() / 1000), (latest ?? 0) + 1);

/**
 * The latest run of the API at `apiUrl` (`run` undefined before the first), refused while it is at
 * work. Not `strict` (this folder's record, maybe stale): an API that does not answer is undefined,
 * as the check after the deploy settles it. `strict`: only a 404 means no run; an API that keeps
 * failing stops the start, since launching blind could replace a running run's fleet.
 */
async function latestRunAt(
  apiUrl: string,
  strict: boolean,
): Promise<{ run: RunView | undefined; clockOffsetMs: number | undefined } | undefined> {
  const latest = await latestRun(apiUrl, strict ? 5 : 1);
  if ('unknown' in latest) {
    if (!strict) return undefined;
    throw new CliError(
      `could not tell whether a run is in progress on this deployment (${describe(latest.unknown)}), so no fleet was launched: try again in a minute, or see \`benchfleet status\``,
      { cause: latest.unknown },
    );
  }
  const run = latest.run;
  if (atWork(run)) {
    throw new CliError(
      `run ${run.run_id} is still ${run.status} on this deployment; wait for it (\`benchfleet watch\`) or end it (\`benchfleet stop ${run.run_id}\`) first. Nothing was launched.`,
    );
  }
  return { run, clockOffsetMs: latest.clockOffsetMs };
}

/** A clock off the deployment's by more than this is said: the AWS fleet's deadline follows the deployment's. */
const CLOCK_NOTE_MS = 5 * 60_000;

/**
 * The deployment's clock, from its API's Date header (`offsetMs`): the AWS fleet's outside deadline
 * (vm-life.ts fleetDeadline) is a time of day, and a laptop clock an hour slow would have EventBridge
 * terminate the VMs before their own timers. This machine's clock when the API gave no Date.
 */
function deploymentClock(offsetMs: number | undefined): () => Date {
  if (offsetMs === undefined) return () => new Date();
  if (Math.abs(offsetMs) > CLOCK_NOTE_MS) {
    const minutes = Math.round(Math.abs(offsetMs) / 60_000);
    log(
      `  note: this machine's clock is ${minutes} min ${offsetMs > 0 ? 'behind' : 'ahead of'} the deployment's; the VMs' deadline follows the deployment's clock`,
    );
  }
  return () => new Date(Date.now() + offsetMs);
}

const WATCH_QUITS: QuitSignal[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

function planOf(config: RunConfig, maxVmHours: number | undefined): FleetPlan {
  try {
    return planFleet(config, maxVmHours === undefined ? {} : { maxVmHours });
  } catch (err) {
    if (err instanceof UnknownInstanceTypeError) throw new CliError(err.message);
    throw err;
  }
}

/** --max-vm-hours as a number of hours, checked before anything else; undefined: the run's default. */
function maxVmHoursFlag(given: string | undefined): number | undefined {
  if (given === undefined) return undefined;
  const hours = Number(given);
  if (!/^\s*\d+(\.\d+)?\s*$/.test(given) || !(hours >= MIN_MAX_VM_HOURS && hours <= MAX_MAX_VM_HOURS)) {
    throw new CliError(
      `--max-vm-hours must be a number of hours from ${MIN_MAX_VM_HOURS} to ${MAX_MAX_VM_HOURS} (a week), got ${JSON.stringify(given)}`,
    );
  }
  return hours;
}

async function azureOptions(flags: StartFlags): Promise<AzureOptions> {
  const sshSourceCidrs = flags.sshCidr ?? [];
  const bad = sshSourceCidrs.find((c) => !isCidr(c));
  if (bad !== undefined) {
    throw new CliError(
      `--ssh-cidr ${bad} is not a CIDR range: give one such as 203.0.113.7/32 (your address)`,
    );
  }
  const candidates = flags.sshPublicKey
    ? [flags.sshPublicKey]
    : [join(homedir(), '.ssh', 'id_ed25519.pub'), join(homedir(), '.ssh', 'id_rsa.pub')];
  const file = candidates.find((f) => existsSync(f));
  if (!file) {
    throw new CliError(
      `the Azure fleet needs an SSH public key for its bastion: none at ${candidates.join(' or ')}; create one with \`ssh-keygen -t ed25519\` or pass --ssh-public-key`,
    );
  }
  // checked (content never printed) before anything deploys: it goes to the tfvars and to Azure
  const sshPublicKey = readSshPublicKey(
    file,
    flags.sshPublicKey ? '--ssh-public-key' : 'the default for --ssh-public-key',
  );
  if (!(await toolAvailable('terraform'))) {
    throw new ToolMissingError(
      'terraform was not found: install Terraform >= 1.5 for the Azure fleet, or set BENCHFLEET_TERRAFORM',
    );
  }
  // the subscription is looked up now, so a missing one stops the run before the meta stack deploys
  const terraformEnv = await azureTerraformEnv();
  return { region: flags.azureRegion, sshPublicKey, sshSourceCidrs, terraformEnv };
}

async function preflight(
  config: RunConfig,
  plan: FleetPlan,
  flags: StartFlags,
  azure: AzureOptions | undefined,
): Promise<PreflightReport> {
  const taskMinutes = Number(flags.taskMinutes);
  if (!(taskMinutes > 0))
    throw new CliError(`--task-minutes must be a positive number, got ${flags.taskMinutes}`);
  const warnings: string[] = [];
  log('== preflight: the image, availability zones, quotas, planned VMs, estimate ==');
  const [missingImage, placed, aws, az] = await Promise.all([
    preflightImage(imageFor(config), config.image ? 'image' : 'ruby_version', flags.config, warnings),
    placeAwsFleet(plan, warnings),
    tryQuota('AWS vCPU', warnings, () => checkAwsQuotas(plan, warnings)),
    azure
      ? tryQuota('Azure vCPU', warnings, () =>
          checkAzureQuotas(plan, azure.region, warnings, azure.sshSourceCidrs.length > 0),
        )
      : [],
  ]);
  if (missingImage) throw new CliError(missingImage);
  const overhead = 10;
  const byDefault = defaultMaxVmHours(config, [...plan.aws, ...plan.azure]);
  if (plan.max_vm_hours < byDefault) {
    warnings.push(
      `--max-vm-hours ${plan.max_vm_hours} is under this run's default of ${byDefault} h: a VM still at work by then is powered off, and its tasks fail`,
    );
  }
  return {
    plan: placed,
    quotas: [...aws, ...az],
    warnings,
    estimate: estimateCost(plan, taskMinutes, { overheadMinutes: overhead }),
    task_minutes: taskMinutes,
    max_vm_hours_default: byDefault,
    // One wave: every task has a slot at once (ceil(tasks / slots) VMs), plus deploy and assembly.
    estimated_minutes: Math.round(taskMinutes + overhead + 10),
  };
}
