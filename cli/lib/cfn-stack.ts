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
