// Standing fleets up and tearing them down: the meta stack, the AWS fleet stack and the Azure
// terraform, each from the one fleet plan. The CLI launches and removes the two fleets in parallel.
import { chmodSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import {
  AZURE_TF_DIR,
  azureGroupName,
  azureTerraformArgs,
  azureTfvars,
  azureWorkspace,
  writeAzureTfvars,
} from '../../lambdas/shared/azure-tfvars';
import type { RunConfig } from '../../lambdas/shared/contract';
import { type FleetPlan, type FleetPlanFileInput, RUN_ID_TAG_KEY } from '../../lambdas/shared/fleet-plan';
import { readSecret } from './api';
import { awsRegion } from './aws-region';
import { busyStatus, describeStackOnce, waitUntilSettled } from './cfn-stack';
import { CliError, CredentialsError, describe, ToolMissingError } from './errors';
import { PROJECT_ROOT, runTool } from './exec';
import { pollMs } from './progress';
import {
  azureSubscriptionFile,
  azureVarFile,
  ensureStateDir,
  FLEET_STACK,
  fleetFile,
  META_STACK,
  type MetaOutputs,
  outputsFile,
  outputsRegion,
  readOutputsIfAny,
  removeFile,
  requireOutputs,
  writeJson,
} from './state';

/** How long the runner download URL in Azure user data stays valid: VMs fetch it at first boot. */
const ARTIFACT_URL_SECONDS = 6 * 3600;

const SUBSCRIPTION_HINT =
  'run `az login` (and `az account set --subscription ...` to pick one), or set ARM_SUBSCRIPTION_ID';

/**
 * terraform's environment for terraform-azure: its azurerm ~> 4.0 needs a subscription id even
 * when `az login` gave it credentials. A given ARM_SUBSCRIPTION_ID wins; else az's current one.
 */
export async function azureTerraformEnv(): Promise<NodeJS.ProcessEnv> {
  if (process.env.ARM_SUBSCRIPTION_ID?.trim()) return {};
  const what = 'terraform-azure needs an Azure subscription id';
  let answer: Awaited<ReturnType<typeof runTool>>;
  try {
    answer = await runTool('az', ['account', 'show', '--query', 'id', '-o', 'tsv'], {
      capture: true,
      quiet: true,
      allowFailure: true,
    });
  } catch (err) {
    if (!(err instanceof ToolMissingError)) throw err;
    throw new ToolMissingError(
      `${what} and az was not found to read it: install the Azure CLI (https://learn.microsoft.com/cli/azure/install-azure-cli) and run \`az login\`, or set ARM_SUBSCRIPTION_ID`,
      { cause: err },
    );
  }
  const id = answer.stdout.trim();
  if (answer.code !== 0 || !/^[\w-]+$/.test(id)) {
    const said = (answer.stderr.trim() || answer.stdout.trim()).split('\n').at(-1)?.slice(0, 200);
    throw new CredentialsError(
      `${what} and \`az account show\` gave none${said ? ` (${said})` : ''}: ${SUBSCRIPTION_HINT}`,
    );
  }
  return { ARM_SUBSCRIPTION_ID: id };
}

/** The Azure environment of one command, read on first use and kept: az is asked once. */
export function azureEnvOnce(): () => Promise<NodeJS.ProcessEnv> {
  let env: Promise<NodeJS.ProcessEnv> | undefined;
  return () => {
    env ??= azureTerraformEnv();
    return env;
  };
}

export async function deployMeta(): Promise<MetaOutputs> {
  ensureStateDir();
  // The record of a deployment in another region is replaced by this one's: say so, as that
  // deployment stays up (and its results bucket with it) with nothing here naming it any more.
  const recorded = readOutputsIfAny(); // an unreadable record is replaced anyway
  const was = recorded && outputsRegion(recorded);
  const here = await awsRegion();
  if (was && here && was !== here) {
    process.stderr.write(
      `note: ${outputsFile()} recorded the deployment in ${was}; it now records the one in ${here}. ` +
        `The ${was} stacks stay up: \`AWS_REGION=${was} benchfleet nuke\` removes them, with their results bucket\n`,
    );
  }
  await runTool(
    'cdk',
    ['deploy', META_STACK, '--require-approval', 'never', '--outputs-file', outputsFile()],
    {
      heading: `deploy the meta stack ${META_STACK} (API, table, buckets, dashboard)`,
    },
  );
  return requireOutputs();
}

export interface AzureOptions {
  region: string;
  sshPublicKey: string;
  /** --ssh-cidr: who may SSH to the bastion; none, nobody */
  sshSourceCidrs: string[];
  /** terraform's environment (azureTerraformEnv), when read up front: before anything deploys */
  terraformEnv?: NodeJS.ProcessEnv;
}

export interface Launch {
  provider: 'aws' | 'azure';
  up: () => Promise<void>;
  down: () => Promise<void>;
}

/** One launch per cloud provider in the config; local types need none. */
export function fleetLaunches(
  runId: number,
  config: RunConfig,
  plan: FleetPlan,
  outputs: MetaOutputs,
  azure: AzureOptions | undefined,
): Launch[] {
  const launches: Launch[] = [];
  if (plan.aws.length > 0) {
    launches.push({
      provider: 'aws',
      up: async () => {
        // Typed by the schema the fleet stack parses it with (bin/app.ts), which checks every value.
        const file: FleetPlanFileInput = {
          runId,
          apiUrl: outputs.ApiUrl,
          runnerKeySecretArn: outputs.RunnerKeySecretArn,
          artifactBucket: outputs.ArtifactBucket,
          artifactKey: outputs.RunnerArtifactKey,
          rubyVersion: config.ruby_version,
          maxVmHours: plan.max_vm_hours,
          ...(plan.aws_zones && { availabilityZones: plan.aws_zones }),
          plan: plan.aws,
        };
        writeJson(fleetFile(runId), file);
        await runTool(
          'cdk',
          ['deploy', FLEET_STACK, '-c', `fleetPlan=${fleetFile(runId)}`, '--require-approval', 'never'],
          {
            heading: `aws: deploy the runner fleet ${FLEET_STACK} (${plan.aws.reduce((n, e) => n + e.vm_count, 0)} VMs)`,
            label: 'aws',
          },
        );
      },
      down: () => destroyAwsFleet(runId),
    });
  }
  if (plan.azure.length > 0) {
    if (!azure) throw new CliError('the config lists azure instance types but no Azure options were given');
    const known = azure.terraformEnv;
    const azureEnv = known ? async () => known : azureEnvOnce();
    // Until terraform starts, nothing is up in Azure and a teardown has nothing to destroy.
    let terraformStarted = false;
    launches.push({
      provider: 'azure',
      up: async () => {
        const env = await azureEnv();
        const [runnerKey, artifactUrl] = await Promise.all([
          readSecret(outputs.RunnerKeySecretArn, 'runner key'),
          presignArtifact(outputs),
        ]);
        const vars = azureTfvars({
          runId,
          apiUrl: outputs.ApiUrl,
          runnerKey,
          artifactUrl,
          config,
          plan,
          region: azure.region,
          sshPublicKey: azure.sshPublicKey,
          sshSourceCidrs: azure.sshSourceCidrs,
        });
        ensureStateDir();
        writeAzureTfvars(azureVarFile(runId), vars);
        const subscription = env.ARM_SUBSCRIPTION_ID ?? process.env.ARM_SUBSCRIPTION_ID?.trim();
        if (subscription) writeFileSync(azureSubscriptionFile(runId), `${subscription}\n`);
        privateTerraformState();
        const steps = azureTerraformArgs('apply', runId, azureVarFile(runId));
        terraformStarted = true;
        for (const [i, args] of steps.entries()) {
          await runTool('terraform', args, {
            env: i === steps.length - 1 ? { ...env, ...pinnedWorkspace(runId) } : env,
            ...(i === 0 && {
              heading: `azure: terraform apply of terraform-azure (${plan.azure.reduce((n, e) => n + e.vm_count, 0)} VMs${azure.sshSourceCidrs.length > 0 ? ' + bastion' : ''})`,
            }),
            label: 'azure',
          });
        }
      },
      down: async () => {
        if (terraformStarted) await destroyAzureFleet(runId, azureEnv);
        else forgetAzureRun(runId);
      },
    });
  }
  return launches;
}

async function presignArtifact(outputs: MetaOutputs): Promise<string> {
  // WHEN_REQUIRED: the default adds a checksum parameter real S3 may refuse on a plain GET.
  const s3 = new S3Client({ requestChecksumCalculation: 'WHEN_REQUIRED' });
  try {
    return await getSignedUrl(
      s3,
      new GetObjectCommand({ Bucket: outputs.ArtifactBucket, Key: outputs.RunnerArtifactKey }),
      {
        expiresIn: ARTIFACT_URL_SECONDS,
      },
    );
  } finally {
    s3.destroy();
  }
}

/**
 * Whose VMs the fleet stack holds, from its run-id tag. The stack is one per deployment: once this
 * run has ended, another start (a teammate's, while this one downloads) may have deployed its own
 * fleet over it. `gone` when there is no stack; `unknown` when AWS would not say.
 */
export async function fleetStackHolder(): Promise<
  | { state: 'gone' }
  | { state: 'run'; runId: number; status: string }
  | { state: 'unknown'; why: string; status?: string }
> {
  let stack: Awaited<ReturnType<typeof describeStackOnce>>;
  try {
    stack = await describeStackOnce(FLEET_STACK);
  } catch (err) {
    return { state: 'unknown', why: describe(err) };
  }
  if (!stack) return { state: 'gone' };
  const status = String(stack.StackStatus ?? 'unknown');
  const runId = Number(stack.Tags?.find((t) => t.Key === RUN_ID_TAG_KEY)?.Value);
  return Number.isInteger(runId) && runId > 0
    ? { state: 'run', runId, status }
    : { state: 'unknown', why: `it has no ${RUN_ID_TAG_KEY} tag`, status };
}

/**
 * The API URL of the meta stack already deployed in this account and region, from CloudFormation:
 * what a folder with no record of the deployment (another machine, a teammate's clone) can look at
 * before it deploys. undefined when there is no such stack, or AWS would not say (the check after
 * the deploy still looks).
 */
export async function deployedApiUrl(): Promise<string | undefined> {
  const stack = await describeStackOnce(META_STACK).catch(() => undefined);
  return stack?.Outputs?.find((o) => o.OutputKey === 'ApiUrl')?.OutputValue || undefined;
}

/** The region of run `runId`'s fleet, from its plan file (the runner key secret's ARN names it). */
export function planRegion(runId: number): string | undefined {
  try {
    const plan = JSON.parse(readFileSync(fleetFile(runId), 'utf8')) as { runnerKeySecretArn?: unknown };
    const region = String(plan.runnerKeySecretArn ?? '').split(':')[3];
    return region || undefined;
  } catch {
    return undefined; // cdk destroy says what is wrong with the file
  }
}

/** waitUntilSettled with a client of its own, at the CLI's poll pace. */
export async function settleStack(name: string, say: (line: string) => void): Promise<void> {
  const cfn = new CloudFormationClient({});
  try {
    await waitUntilSettled(cfn, name, say, pollMs(10_000));
  } finally {
    cfn.destroy();
  }
}

/**
 * `cdk destroy` of the fleet stack, unless it now holds another run's VMs: this run's went with
 * that run's deploy, and destroying it would end that run. When AWS cannot tell, it is destroyed,
 * as VMs left up would bill.
 */
export async function destroyAwsFleet(runId: number): Promise<void> {
  // In another region the stack would be missing, and cdk destroy would succeed, leaving it billing.
  const planned = planRegion(runId);
  const region = await awsRegion();
  if (planned !== undefined && region !== planned) {
    throw new CliError(
      `run ${runId}'s AWS fleet is in ${planned} (its deployment's region), but AWS calls here go to ${region ?? 'no region'}: set AWS_REGION=${planned} and run it again`,
    );
  }
  let holder = await fleetStackHolder();
  if (holder.state !== 'gone' && busyStatus(holder.status)) {
    // a deploy interrupted, or another start's still going on: cdk destroy would be refused, and
    // whose VMs the stack holds is known only once it ends
    await settleStack(FLEET_STACK, (line) => process.stderr.write(`[aws] ${line}\n`));
    holder = await fleetStackHolder();
  }
  // Run ids only grow on a deployment: a newer run's fleet was deployed over this one's. (An older
  // run's tag is this run's own deploy rolled back: it is this run's to remove.)
  if (holder.state === 'run' && holder.runId > runId) {
    process.stderr.write(
      `[aws] the fleet stack ${FLEET_STACK} holds run ${holder.runId}'s VMs now (deployed over run ${runId}'s, which went with that deploy): left up, as destroying it would end run ${holder.runId}\n`,
    );
    removeFile(fleetFile(runId));
    return;
  }
  if (holder.state === 'unknown') {
    process.stderr.write(
      `[aws] could not tell whose VMs the fleet stack ${FLEET_STACK} holds (${holder.why}): destroying it, as this run's would bill\n`,
    );
  }
  await runTool('cdk', ['destroy', FLEET_STACK, '-c', `fleetPlan=${fleetFile(runId)}`, '--force'], {
    heading: `aws: destroy the runner fleet ${FLEET_STACK}`,
    label: 'aws',
  });
  removeFile(fleetFile(runId));
}

export async function destroyAzureFleet(
  runId: number,
  azureEnv: () => Promise<NodeJS.ProcessEnv> = azureTerraformEnv,
): Promise<void> {
  const current = await azureEnv();
  const recorded = recordedSubscription(runId).ARM_SUBSCRIPTION_ID;
  const now = current.ARM_SUBSCRIPTION_ID ?? process.env.ARM_SUBSCRIPTION_ID?.trim();
  if (recorded && now && recorded !== now) {
    process.stderr.write(
      `[azure] run ${runId}'s fleet was applied in subscription ${recorded}, not ${now} (the current one): torn down there\n`,
    );
  }
  const env = { ...current, ...(recorded && { ARM_SUBSCRIPTION_ID: recorded }) };
  privateTerraformState();
  const [init, workspace, destroy] = azureTerraformArgs('destroy', runId, azureVarFile(runId));
  const terraform = (args: string[] | undefined, heading?: string) =>
    runTool('terraform', args ?? [], { env, ...(heading && { heading }), label: 'azure' });
  await terraform(init, `azure: terraform destroy of run ${runId}'s fleet`);
  try {
    await terraform(workspace);
  } catch (err) {
    // No state for the run in this checkout (another clone, a `git clean`): its group tells.
    const group = azureGroupName(runId);
    const subscription = env.ARM_SUBSCRIPTION_ID ?? process.env.ARM_SUBSCRIPTION_ID;
    const args = [
      'group',
      'exists',
      '--name',
      group,
      ...(subscription ? ['--subscription', subscription] : []),
    ];
    const exists = await runTool('az', args, {
      capture: true,
      quiet: true,
    }).then(
      (r) => r.stdout.trim(),
      () => 'unknown', // no az, or it failed: the group may be up
    );
    if (exists !== 'false') {
      throw new CliError(
        `run ${runId}'s terraform state (workspace run-${runId}) is not in this checkout's terraform-azure/, and its resource group ${group} may still be up: \`az group delete --name ${group}\` deletes it, as does \`benchfleet nuke\` (with everything else)`,
        { cause: err },
      );
    }
    process.stderr.write(
      `[azure] run ${runId} has no terraform state here and no resource group ${group}: nothing to destroy\n`,
    );
    forgetAzureRun(runId);
    return;
  }
  try {
    await runTool('terraform', destroy ?? [], { env: { ...env, ...pinnedWorkspace(runId) }, label: 'azure' });
  } catch (err) {
    await deleteAzureGroup(runId, env, err);
  }
  forgetAzureRun(runId);
}

/**
 * The apply or destroy of a run pinned to its workspace. `workspace select` writes the one selected
 * workspace of the checkout's terraform-azure/ (.terraform/environment): a teardown in another
 * terminal selecting its run's between this command's select and its apply would have this apply
 * land in that run's state, or a destroy find an empty one and succeed. TF_WORKSPACE wins over it.
 */
const pinnedWorkspace = (runId: number): { TF_WORKSPACE: string } => ({
  TF_WORKSPACE: azureWorkspace(runId),
});

/** The records of a run's Azure fleet, once it is gone; the var file holds the runner key. */
function forgetAzureRun(runId: number): void {
  removeFile(azureVarFile(runId));
  removeFile(azureSubscriptionFile(runId));
}

/** ARM_SUBSCRIPTION_ID of the subscription the run's fleet was applied in, when recorded (runs started before it was: none). */
function recordedSubscription(runId: number): { ARM_SUBSCRIPTION_ID?: string } {
  let recorded: string;
  try {
    recorded = readFileSync(azureSubscriptionFile(runId), 'utf8').trim();
  } catch {
    return {};
  }
  if (!/^[\w-]+$/.test(recorded)) return {};
  return { ARM_SUBSCRIPTION_ID: recorded };
}

/**
 * After a terraform destroy that failed: the run's resource group holds all of its fleet and nothing
 * else, so deleting it is the same teardown. It is what mends a state that Azure disagrees with (an
 * apply cut short leaves VMs terraform never recorded, holding the network interfaces it did, so
 * every destroy fails the same way). `az group delete` waits for the deletion; a group already gone
 * is nothing left to delete. Throws, naming both failures, when the group stays.
 */
async function deleteAzureGroup(runId: number, env: NodeJS.ProcessEnv, destroyError: unknown): Promise<void> {
  const group = azureGroupName(runId);
  const subscription = env.ARM_SUBSCRIPTION_ID ?? process.env.ARM_SUBSCRIPTION_ID;
  const where = subscription ? ['--subscription', subscription] : [];
  const az = (args: string[], quiet = false) =>
    runTool('az', [...args, '--name', group, ...where], { capture: true, quiet, label: 'azure' });
  try {
    const exists = (await az(['group', 'exists'], true)).stdout.trim();
    if (exists === 'false') {
      process.stderr.write(
        `[azure] terraform destroy of run ${runId} failed (${describe(destroyError)}), but its resource group ${group} is gone: nothing is left\n`,
      );
    } else {
      process.stderr.write(
        `[azure] terraform destroy of run ${runId} failed (${describe(destroyError)}): deleting its resource group ${group} instead, which holds the whole fleet (this takes minutes)\n`,
      );
      await az(['group', 'delete', '--yes']);
    }
  } catch (err) {
    throw new CliError(
      `terraform destroy of run ${runId}'s Azure fleet failed (${describe(destroyError)}), and so did deleting its resource group ${group} (${describe(err)}); it may still be billing: \`az group delete --name ${group}\` deletes it`,
      { cause: err },
    );
  }
  // terraform's state of the run names resources that are gone now (and holds the runner key)
  rmSync(join(PROJECT_ROOT, AZURE_TF_DIR, 'terraform.tfstate.d', azureWorkspace(runId)), {
    recursive: true,
    force: true,
  });
}

/**
 * terraform keeps each run's state (and, after a destroy, its backup) in terraform-azure/
 * terraform.tfstate.d/run-<id>/, with the VMs' custom_data, which holds the runner key, in it, and
 * writes those files readable by every user of the machine. The folder is made this user's alone.
 */
/**
 * The runs whose Azure fleet this checkout's terraform state still holds resources of, whichever
 * folder started them: `.benchfleet/` records are per folder, terraform-azure/'s states per
 * checkout, so a teardown from another folder finds no record of a fleet that is up.
 */
export function azureStatesHeld(root = PROJECT_ROOT): number[] {
  const dir = join(root, AZURE_TF_DIR, 'terraform.tfstate.d');
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const held: number[] = [];
  for (const name of names) {
    const id = /^run-(\d+)$/.exec(name)?.[1];
    if (id === undefined) continue;
    try {
      const state = JSON.parse(readFileSync(join(dir, name, 'terraform.tfstate'), 'utf8')) as {
        resources?: unknown[];
      };
      if ((state.resources?.length ?? 0) > 0) held.push(Number(id));
    } catch {
      // no state file (a workspace never applied) or one terraform is writing: nothing to say of it
    }
  }
  return held.sort((a, b) => a - b);
}

export function privateTerraformState(root = PROJECT_ROOT): void {
  const dir = join(root, AZURE_TF_DIR, 'terraform.tfstate.d');
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    chmodSync(dir, 0o700); // one made before, by terraform or an older Benchfleet
  } catch (err) {
    // never in the way of a launch or, above all, a teardown: say it, and go on
    process.stderr.write(
      `[azure] warning: could not make ${dir} private (${describe(err)}): the terraform states in it, ` +
        'which hold the runner key, may be readable by other users of this machine; `chmod 700` it\n',
    );
  }
}

/** Runs the steps at once; answers the providers that failed with their errors. */
export async function inParallel(
  launches: Launch[],
  step: 'up' | 'down',
): Promise<Array<{ provider: string; error: unknown }>> {
  const results = await Promise.allSettled(launches.map((l) => l[step]()));
  return results.flatMap((r, i) =>
    r.status === 'rejected' ? [{ provider: launches[i]?.provider ?? '?', error: r.reason }] : [],
  );
}
