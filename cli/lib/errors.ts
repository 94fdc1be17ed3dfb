// How cloud commands fail: one CliError with a message that says what to do, printed once by
// `action()`, which also sets the exit code, so a command never throws a stack trace at a user.
import { ConfigError } from '../config';

export class CliError extends Error {
  override name = 'CliError';
}

/** A tool (cdk, terraform, az) is not installed or not on PATH. */
export class ToolMissingError extends CliError {
  override name = 'ToolMissingError';
}

/** A provider refused us for lack of (valid) credentials. */
export class CredentialsError extends CliError {
  override name = 'CredentialsError';
}

/** Wraps a commander action: errors become one message on stderr and exit code 1. */
export function action<A extends unknown[]>(
  command: string,
  run: (...args: A) => Promise<void>,
): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await run(...args);
    } catch (err) {
      process.exitCode = 1;
      process.stderr.write(`benchfleet ${command}: ${describe(err)}\n`);
    }
  };
}

/** The AWS SDK's words when no region is configured: they say neither what is missing nor how to set it. */
export const isAwsRegionMissing = (err: unknown): boolean =>
  err instanceof Error && err.message === 'Region is missing';

/** What to do when no AWS region is set (download.ts says it for its bucket). */
export const AWS_REGION_HINT =
  'set AWS_REGION (or AWS_PROFILE, for a profile with a region), or run `aws configure`';
export const NO_AWS_REGION = `no AWS region is set: ${AWS_REGION_HINT}`;

const AWS_SIGN_IN =
  'Sign in (`aws sso login`, or `aws configure`, or set AWS_PROFILE / AWS_ACCESS_KEY_ID) and try again.';

/** The SDK's words when it found no credentials at all, where AWS_PROFILE names a missing profile too. */
const isNoAwsCredentials = (err: unknown): boolean =>
  err instanceof Error &&
  /Could not load credentials from any providers|Unable to locate credentials/i.test(err.message);

/** No credentials were found: nothing was sent to AWS, so nothing was refused. */
function noAwsCredentials(): string {
  const profile = process.env.AWS_PROFILE?.trim();
  if (profile) {
    return (
      `no AWS credentials were found for the profile ${profile} (AWS_PROFILE): check that ~/.aws/config has it, ` +
      `then sign in with \`aws sso login --profile ${profile}\` (or \`aws configure --profile ${profile}\`), and try again.`
    );
  }
  return (
    'no AWS credentials were found (looked in AWS_PROFILE, AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, ~/.aws): ' +
    'sign in with `aws sso login` (or `aws configure`), or set AWS_PROFILE or AWS_ACCESS_KEY_ID, and try again.'
  );
}

export function describe(err: unknown): string {
  if (err instanceof ConfigError || err instanceof CliError) return err.message;
  if (isAwsRegionMissing(err)) return NO_AWS_REGION;
  const e = err as Error & { name?: string; $metadata?: unknown };
  const name = e?.name ?? '';
  if (isNoAwsCredentials(err)) return noAwsCredentials();
  // the SDK could not load the credentials it found (an SSO session that ended): AWS saw none
  if (name === 'CredentialsProviderError') {
    return `the AWS credentials could not be loaded (${e.message}). ${AWS_SIGN_IN}`;
  }
  if (AWS_CREDENTIAL_ERRORS.includes(name)) {
    return `AWS refused the credentials (${name}: ${e.message}). ${AWS_SIGN_IN}`;
  }
  if (e?.$metadata !== undefined) return `AWS call failed: ${name}: ${e.message}`;
  return e?.message ?? String(err);
}

export const AWS_CREDENTIAL_ERRORS = [
  'CredentialsProviderError',
  'ExpiredToken',
  'ExpiredTokenException',
  'InvalidClientTokenId',
  'UnrecognizedClientException',
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'AuthFailure',
];
