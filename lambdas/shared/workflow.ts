// The assembly state machine, defined once. The CDK stack passes the Lambda ARNs and hands
// `JSON.stringify(assemblyDefinition(arns))` to DefinitionBody.fromString; the local mode passes
// placeholder ARNs and runs the same object with aws-local-stepfunctions, overriding each Task
// state with the same step code. JSONPath only: the local interpreter ignores JSONata and Assign.
//
// States carry S3 keys and counts, never task lists: a run has up to 10,000 tasks and a state's
// payload is limited to 256 KB, so ListTasks writes the listing to S3 and passes its key on.
import * as z from 'zod';
import { RunId, type RunStatus } from './contract';

export const ASSEMBLY_STEPS = ['ListTasks', 'BuildArchive', 'Finalize', 'MarkFailed'] as const;
export type StepName = (typeof ASSEMBLY_STEPS)[number];

/** Errors worth another try: ours (TransientError, a lost race) and the Lambda service's own. */
export const TRANSIENT_ERRORS = [
  'TransientError',
  'StaleStateError',
  'Lambda.ServiceException',
  'Lambda.AWSLambdaException',
  'Lambda.SdkClientException',
  'Lambda.TooManyRequestsException',
  'Lambda.ClientExecutionTimeoutException',
] as const;

// Minimal typed ASL (only what this machine uses), so the CDK side needs no interpreter types.
export interface AslRetrier {
  ErrorEquals: string[];
  IntervalSeconds: number;
  MaxAttempts: number;
  BackoffRate: number;
  MaxDelaySeconds?: number;
  JitterStrategy?: 'NONE' | 'FULL';
}
export interface AslCatcher {
  ErrorEquals: string[];
  Next: string;
  ResultPath: string;
}
export interface AslTaskState {
  Type: 'Task';
  Comment?: string;
  Resource: string;
  Parameters: Record<string, string>;
  TimeoutSeconds: number;
  Retry: AslRetrier[];
  Catch?: AslCatcher[];
  Next?: string;
  End?: true;
}
export interface AslFailState {
  Type: 'Fail';
  Error: string;
  Cause: string;
}
export interface AslDefinition {
  Comment: string;
  QueryLanguage: 'JSONPath';
  StartAt: string;
  TimeoutSeconds: number;
  States: Record<string, AslTaskState | AslFailState>;
}

/** Lambda timeouts the CDK stack should give each step (the state's TimeoutSeconds matches). */
export const STEP_TIMEOUT_SECONDS: Record<StepName, number> = {
  ListTasks: 300,
  BuildArchive: 900,
  Finalize: 60,
  MarkFailed: 60,
};

const retry = (maxAttempts: number): AslRetrier[] => [
  {
    ErrorEquals: [...TRANSIENT_ERRORS],
    IntervalSeconds: 2,
    MaxAttempts: maxAttempts,
    BackoffRate: 2,
    MaxDelaySeconds: 60,
    JitterStrategy: 'FULL',
  },
];

// Everything that is still failing after the retries goes to MarkFailed, with the original input
// kept (ResultPath) so it still knows the run id.
const toMarkFailed: AslCatcher[] = [
  { ErrorEquals: ['States.ALL'], Next: 'MarkFailed', ResultPath: '$.error' },
];

/**
 * The definition, given the Lambda ARN of each step. Task states call the function directly
 * (Resource = ARN): the state's input is the event, the function's return value its output.
 */
export function assemblyDefinition(resources: Record<StepName, string>): AslDefinition {
  return {
    Comment: 'Benchfleet: build runs/<run_id>/results.tar.gz from the results of a run, then finish the run',
    // Said outright: the local interpreter ignores JSONata, so the machine must not depend on it.
    QueryLanguage: 'JSONPath',
    StartAt: 'ListTasks',
    // Well above the sum of the steps with their retries, so an execution always ends.
    TimeoutSeconds: 2 * 60 * 60,
    States: {
      ListTasks: {
        Type: 'Task',
        Comment: 'Cancel what a stop left behind, write the task listing to S3',
        Resource: resources.ListTasks,
        Parameters: { 'run_id.$': '$.run_id' },
        TimeoutSeconds: STEP_TIMEOUT_SECONDS.ListTasks,
        Retry: retry(4),
        Catch: toMarkFailed,
        Next: 'BuildArchive',
      },
      BuildArchive: {
        Type: 'Task',
        Comment: 'Stream every result into one tar.gz with manifest.json',
        Resource: resources.BuildArchive,
        Parameters: {
          'run_id.$': '$.run_id',
          'listing_key.$': '$.listing_key',
          'task_count.$': '$.task_count',
        },
        TimeoutSeconds: STEP_TIMEOUT_SECONDS.BuildArchive,
        Retry: retry(3),
        Catch: toMarkFailed,
        Next: 'Finalize',
      },
      Finalize: {
        Type: 'Task',
        Comment: 'assembling -> complete (or cancelled after a stop)',
        Resource: resources.Finalize,
        Parameters: { 'run_id.$': '$.run_id', 'archive_key.$': '$.archive_key' },
        TimeoutSeconds: STEP_TIMEOUT_SECONDS.Finalize,
        Retry: retry(4),
        Catch: toMarkFailed,
        End: true,
      },
      MarkFailed: {
        Type: 'Task',
        Comment: 'assembling -> assembly_failed with the reason, so no run hangs in assembling',
        Resource: resources.MarkFailed,
        // The whole error object: a path to a field Catch did not set would itself fail the state.
        Parameters: { 'run_id.$': '$.run_id', 'error.$': '$.error' },
        TimeoutSeconds: STEP_TIMEOUT_SECONDS.MarkFailed,
        Retry: retry(6),
        Next: 'AssemblyFailed',
      },
      // The execution itself ends failed too, so the ExecutionsFailed alarm sees it.
      AssemblyFailed: { Type: 'Fail', Error: 'AssemblyFailed', Cause: 'the run was marked assembly_failed' },
    },
  };
}

/** Placeholder ARNs for the local mode: valid ARNs that are never called (each state is overridden). */
export function localAssemblyResources(): Record<StepName, string> {
  const arn = (step: StepName): string =>
    `arn:aws:lambda:us-east-1:000000000000:function:benchfleet-local-${step}`;
  return {
    ListTasks: arn('ListTasks'),
    BuildArchive: arn('BuildArchive'),
    Finalize: arn('Finalize'),
    MarkFailed: arn('MarkFailed'),
  };
}

/** The execution input: `{"run_id": N}`. */
export const AssemblyInput = z.object({ run_id: RunId });
export type AssemblyInput = z.infer<typeof AssemblyInput>;

export const ListTasksInput = AssemblyInput;
export type ListTasksInput = z.infer<typeof ListTasksInput>;
export interface ListTasksOutput {
  run_id: number;
  listing_key: string;
  task_count: number;
}

export const BuildArchiveInput = z.object({
  run_id: RunId,
  listing_key: z.string().min(1).max(512),
  task_count: z.number().int().min(0),
});
export type BuildArchiveInput = z.infer<typeof BuildArchiveInput>;
export interface BuildArchiveOutput {
  run_id: number;
  archive_key: string;
  task_count: number;
  files: number;
  bytes: number;
  assembly_errors: number;
}

export const FinalizeInput = z.object({ run_id: RunId, archive_key: z.string().min(1).max(512) });
export type FinalizeInput = z.infer<typeof FinalizeInput>;
export interface FinalizeOutput {
  run_id: number;
  status: RunStatus | 'creating';
}

// Error and Cause come from Step Functions' Catch; either may be missing for odd failures.
export const MarkFailedInput = z.object({
  run_id: RunId,
  error: z
    .object({ Error: z.string().nullish(), Cause: z.string().nullish() })
    .nullish()
    .transform((e) => ({ error: e?.Error ?? null, cause: e?.Cause ?? null })),
});
export type MarkFailedInput = z.infer<typeof MarkFailedInput>;
export interface MarkFailedOutput {
  run_id: number;
  status: RunStatus | 'creating';
  reason: string;
}

/** Step Functions passes a Lambda error's Cause as `{"errorType","errorMessage","trace"}` JSON. */
export function failureReason(input: { error: string | null; cause: string | null }, max = 1000): string {
  const error = input.error ?? 'Error';
  let message = input.cause ?? '';
  try {
    const parsed = JSON.parse(message) as { errorMessage?: unknown };
    if (parsed && typeof parsed.errorMessage === 'string') message = parsed.errorMessage;
  } catch {
    // not JSON: a plain message (the local interpreter, States.* errors)
  }
  const reason = message ? `${error}: ${message}` : error;
  return reason.length > max ? `${reason.slice(0, max - 1)}…` : reason;
}
