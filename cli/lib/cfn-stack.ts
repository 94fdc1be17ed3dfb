// One CloudFormation stack as DescribeStacks tells it, for nuke's sweep, start's checks and the
// fleet teardown alike: a stack that does not exist (or is deleted) is undefined, not an error.
import { CloudFormationClient, DescribeStacksCommand, type Stack } from '@aws-sdk/client-cloudformation';

/** The stack `name`, or undefined when there is none; other failures (credentials, throttling) throw. */
export async function describeStack(cfn: CloudFormationClient, name: string): Promise<Stack | undefined> {
  try {
    const stack = (await cfn.send(new DescribeStacksCommand({ StackName: name }))).Stacks?.[0];
    return stack?.StackStatus === 'DELETE_COMPLETE' ? undefined : stack;
  } catch (err) {
    if (/does not exist/.test((err as Error).message ?? '')) return undefined;
    throw err;
  }
}

/** describeStack with a client of its own, made and closed around the one call. */
export async function describeStackOnce(name: string): Promise<Stack | undefined> {
  const cfn = new CloudFormationClient({});
  try {
    return await describeStack(cfn, name);
  } finally {
    cfn.destroy();
  }
}

/**
 * Whether CloudFormation refuses to delete a stack in this status: one still being created,
 * updated or rolled back ("cannot be deleted while in status UPDATE_IN_PROGRESS"). A deploy that
 * was interrupted (Ctrl-C during `cdk deploy`) goes on in AWS, and a destroy right after it fails.
 */
export const busyStatus = (status: string | undefined): boolean =>
  status?.endsWith('_IN_PROGRESS') === true && status !== 'DELETE_IN_PROGRESS';

/** How long a destroy waits for a stack's update to end before it tries anyway, in ms. */
export const SETTLE_TIMEOUT_MS = 30 * 60_000;

/**
 * Waits while the stack `name` is busy (busyStatus), saying so through `say` when it starts and
 * every minute, so a destroy comes after the update or rollback rather than be refused. Answers
 * the status it ended in (undefined: gone). After SETTLE_TIMEOUT_MS it answers the busy status,
 * for the destroy to try and say what AWS says.
 */
export async function waitUntilSettled(
  cfn: CloudFormationClient,
  name: string,
  say: (line: string) => void,
  pollMs: number,
): Promise<string | undefined> {
  const started = Date.now();
  let saidAt = 0;
  for (;;) {
    const status = (await describeStack(cfn, name))?.StackStatus;
    if (!busyStatus(status)) return status;
    const waited = Date.now() - started;
    if (waited > SETTLE_TIMEOUT_MS) return status;
    if (saidAt === 0 || Date.now() - saidAt >= 60_000) {
      saidAt = Date.now();
      say(
        `the stack ${name} is ${status} (a deploy still going on in AWS, or an interrupted one); CloudFormation deletes no stack in that state, so the destroy waits for it to end (${Math.round(waited / 1000)} s so far, at most ${SETTLE_TIMEOUT_MS / 60_000} min)`,
      );
    }
    await new Promise((r) => setTimeout(r, pollMs));
  }
}
