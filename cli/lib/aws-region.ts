// The AWS region the CLI's SDK clients (and `cdk`) work in: AWS_REGION, AWS_DEFAULT_REGION or the
// profile's. Without one every SDK call fails with "Region is missing", while `cdk deploy` quietly
// picks us-east-1: so commands that deploy check it first and stop, saying how to set one.
import { EC2Client } from '@aws-sdk/client-ec2';
import { CliError, isAwsRegionMissing, NO_AWS_REGION } from './errors';

/** The region the SDK resolves (as every client made with `{}` does), or undefined when none is set. */
export async function awsRegion(): Promise<string | undefined> {
  const client = new EC2Client({});
  try {
    return await client.config.region();
  } catch (err) {
    if (isAwsRegionMissing(err)) return undefined;
    throw err;
  } finally {
    client.destroy();
  }
}

/** A missing region, said for `what` needed it: what to set, and that nothing was launched. */
export function noAwsRegionError(what: string): CliError {
  return new CliError(`${NO_AWS_REGION}. ${what} Nothing was launched.`);
}

/** The region, or a CliError saying what needed it and how to set one. */
export async function requireAwsRegion(what: string): Promise<string> {
  const region = await awsRegion();
  if (!region) throw noAwsRegionError(what);
  return region;
}
