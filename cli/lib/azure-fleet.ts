// An Azure fleet's terraform around the launch: the environment terraform-azure needs, a run's
// records (its var file and subscription), and its teardown, with the resource group as the
// fallback. Each run has a workspace of its own in this checkout's terraform-azure/.
import { chmodSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  AZURE_TF_DIR,
  azureGroupName,
  azureTerraformArgs,
  azureWorkspace,
} from '../../lambdas/shared/azure-tfvars';
import { CliError, CredentialsError, describe, ToolMissingError } from './errors';
import { PROJECT_ROOT, runTool } from './exec';
import { azureSubscriptionFile, azureVarFile, removeFile } from './state';

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
export const pinnedWorkspace = (runId: number): { TF_WORKSPACE: string } => ({
  TF_WORKSPACE: azureWorkspace(runId),
});

/** The records of a run's Azure fleet, once it is gone; the var file holds the runner key. */
export function forgetAzureRun(runId: number): void {
  removeFile(azureVarFile(runId));
  removeFile(azureSubscriptionFile(runId));
}

/** Records the subscription a run's fleet is applied in (`env`, else ARM_SUBSCRIPTION_ID), for its teardowns. */
export function recordSubscription(runId: number, env: NodeJS.ProcessEnv): void {
  const subscription = env.ARM_SUBSCRIPTION_ID ?? process.env.ARM_SUBSCRIPTION_ID?.trim();
  if (subscription) writeFileSync(azureSubscriptionFile(runId), `${subscription}\n`);
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
