// Standing fleets up and tearing them down: the meta stack, the AWS fleet stack and the Azure
// terraform, each from the one fleet plan; an Azure fleet's environment, records and teardown are
// in azure-fleet.ts. The CLI launches and removes the two fleets in parallel.
import { readFileSync } from 'node:fs';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { azureTerraformArgs, azureTfvars, writeAzureTfvars } from '../../lambdas/shared/azure-tfvars';
import type { RunConfig } from '../../lambdas/shared/contract';
import { type FleetPlan, type FleetPlanFileInput, RUN_ID_TAG_KEY } from '../../lambdas/shared/fleet-plan';
import { fleetDeadline } from '../../lambdas/shared/vm-life';
import { readSecret } from './api';
import { awsRegion } from './aws-region';
import {
  azureEnvOnce,
  destroyAzureFleet,
  forgetAzureRun,
  pinnedWorkspace,
  privateTerraformState,
  recordSubscription,
} from './azure-fleet';
import { busyStatus, describeStackOnce, waitUntilSettled } from './cfn-stack';
import { CliError, describe } from './errors';
import { runTool } from './exec';
import { pollMs } from './progress';
import {
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
  /** The deployment's clock (start-run.ts deploymentClock), for the AWS fleet's deadline. */
  clock: () => Date = () => new Date(),
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
          // the outside bound, should a VM's own timer never run (vm-life.ts)
          deadline: fleetDeadline(plan.max_vm_hours, clock()),
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
        recordSubscription(runId, env);
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
