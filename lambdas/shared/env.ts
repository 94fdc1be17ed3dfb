// The Lambda environment, parsed once with zod: a missing variable fails at cold start and names itself.
import * as z from 'zod';
import { DEFAULT_TABLE_NAME } from './table';

export const LambdaEnv = z.object({
  TABLE_NAME: z.string().min(1).default(DEFAULT_TABLE_NAME),
  RESULTS_BUCKET: z.string().min(1),
  STATE_MACHINE_ARN: z.string().min(1),
  REAPER_RULE_NAME: z.string().min(1),
  OPERATOR_KEY_SECRET_ARN: z.string().min(1),
  RUNNER_KEY_SECRET_ARN: z.string().min(1),
  HEARTBEAT_TIMEOUT_SECONDS: z.coerce.number().positive().default(120),
  WAIT_RETRY_SECONDS: z.coerce.number().positive().default(30),
});
export type LambdaEnv = z.infer<typeof LambdaEnv>;

export function readEnv(env: NodeJS.ProcessEnv = process.env): LambdaEnv {
  const parsed = LambdaEnv.safeParse(env);
  if (!parsed.success) {
    const names = parsed.error.issues.map((i) => i.path.join('.')).join(', ');
    throw new Error(`Lambda environment is incomplete: set ${names} (the CDK stack sets them; see lib/)`);
  }
  return parsed.data;
}
