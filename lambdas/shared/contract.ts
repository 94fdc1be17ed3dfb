// The HTTP contract: one zod schema per request and response body. The handlers, the runner, the
// dashboard's types, the CLI and the tests all import from here, so a field is defined once.
import * as z from 'zod';
import { PROVIDERS, Provider, RunStatus, TaskStatus } from './enums';
import {
  clipped,
  InstanceTypeName,
  MAX_ERROR_MESSAGE,
  MAX_INSTANCE_TYPES_PER_RUN,
  MAX_RUNS_PER_INSTANCE_TYPE,
  MAX_TASKS_PER_RUN,
  omittable,
  RubyVersion,
  RunId,
  rounded,
  TASK_ID_FACTOR,
} from './fields';

// Defined in enums.ts so the archive formats can share them without an import cycle.
export * from './enums';
// The limits and single-field schemas the bodies below are made of.
export * from './fields';

const InstanceList = z
  .array(InstanceTypeName)
  .min(1, 'must list at least one instance type')
  .refine((l) => new Set(l).size === l.length, 'lists an instance type twice');

export const BENCH_ENV_KEYS = ['WARMUP_ITRS', 'MIN_BENCH_ITRS', 'MIN_BENCH_TIME'] as const;

export const RunConfig = z
  .strictObject({
    ruby_version: RubyVersion,
    runs_per_instance_type: z.number().int().min(1).max(MAX_RUNS_PER_INSTANCE_TYPE),
    aws: InstanceList.optional(),
    azure: InstanceList.optional(),
    local: InstanceList.optional(),
    benchmarks: z
      .array(z.string().regex(/^[A-Za-z0-9._-]{1,64}$/))
      .min(1)
      .max(500)
      .optional(),
    ruby_bench_ref: z
      .string()
      .regex(/^[A-Za-z0-9._/-]{1,100}$/)
      .optional(),
    ruby_bench_env: z
      .strictObject({
        WARMUP_ITRS: z.number().int().min(0).max(10_000).optional(),
        MIN_BENCH_ITRS: z.number().int().min(1).max(10_000).optional(),
        MIN_BENCH_TIME: z.number().min(0).max(3_600).pipe(rounded(3)).optional(),
      })
      .optional(),
    image: z
      .string()
      .regex(/^[A-Za-z0-9._/:@-]{1,200}$/)
      .optional(),
    pending_timeout_minutes: z
      .number()
      .min(0.05)
      .max(24 * 60)
      .optional(),
    max_attempts: z.number().int().min(1).max(5).optional(),
    run_id: RunId.optional(),
  })
  .superRefine((cfg, ctx) => {
    const lists = PROVIDERS.map((p) => [p, cfg[p] ?? []] as const);
    if (lists.every(([, l]) => l.length === 0)) {
      ctx.addIssue({
        code: 'custom',
        message: 'at least one provider (aws, azure, local) must list instance types',
        path: [],
      });
    }
    const seen = new Map<string, string>();
    for (const [p, l] of lists) {
      for (const t of l) {
        const other = seen.get(t);
        if (other !== undefined && other !== p) {
          ctx.addIssue({
            code: 'custom',
            message: `instance type ${t} is listed under both ${other} and ${p}`,
            path: [p],
          });
        }
        seen.set(t, p);
      }
    }
    if (seen.size > MAX_INSTANCE_TYPES_PER_RUN) {
      ctx.addIssue({
        code: 'custom',
        message: `the run lists ${seen.size} instance types; at most ${MAX_INSTANCE_TYPES_PER_RUN} are allowed`,
        path: [],
      });
    }
    const total = seen.size * cfg.runs_per_instance_type;
    if (total > MAX_TASKS_PER_RUN) {
      ctx.addIssue({
        code: 'custom',
        message: `the run would have ${total} tasks; at most ${MAX_TASKS_PER_RUN} are allowed`,
        path: ['runs_per_instance_type'],
      });
    }
  });
export type RunConfig = z.infer<typeof RunConfig>;

/** One (provider, instance type) pair of a config, in config order. */
export function instanceTypesOf(cfg: RunConfig): Array<{ provider: Provider; instance_type: string }> {
  return PROVIDERS.flatMap((provider) =>
    (cfg[provider] ?? []).map((instance_type) => ({ provider, instance_type })),
  );
}

/** The container image a run uses: `image`, else `ruby:<version>`; `head` maps to ruby's nightly image. */
export function imageFor(cfg: Pick<RunConfig, 'image' | 'ruby_version'>): string {
  if (cfg.image) return cfg.image;
  return cfg.ruby_version === 'head' ? 'rubylang/ruby:master' : `ruby:${cfg.ruby_version}`;
}

export const FINISHED_STATUSES: readonly TaskStatus[] = ['completed', 'failed', 'cancelled'];

export const HEARTBEAT_STATUSES = ['boot', 'provision', 'running', 'uploading', 'finished', 'error'] as const;
export const HeartbeatStatus = z.enum(HEARTBEAT_STATUSES);
export type HeartbeatStatus = z.infer<typeof HeartbeatStatus>;

export const ERROR_TYPES = [
  'benchmark_failed',
  'timeout',
  'heartbeat_timeout',
  'cancelled',
  'interrupted',
  'upload_failed',
  'docker_error',
  'provision_failed',
  'no_runner',
] as const;
/** Failures caused by infrastructure rather than the benchmark: retried while attempts remain. */
export const RETRYABLE_ERROR_TYPES: readonly string[] = [
  'heartbeat_timeout',
  'interrupted',
  'upload_failed',
  'docker_error',
  'provision_failed',
];
// Any other short string from an older runner (`BenchmarkError`, `Timeout::Error`) is accepted and
// recorded; only control characters are refused.
export const ErrorType = z
  .string()
  .regex(/^[^\p{Cc}]{1,64}$/u, 'must be 1-64 characters without control characters');

// An id, not text: it is matched on every call of a claim, and shown as it is on the dashboard, the
// site and in the API's log lines, where a line break or a colour code would garble or forge one.
export const RunnerId = z
  .string()
  .min(1)
  .max(128)
  .regex(/^\P{Cc}*$/u, 'must be 1-128 characters without control characters');
export const Attempt = z.number().int().min(1).max(5);

export const ClaimRequest = z.strictObject({
  provider: Provider,
  instance_type: InstanceTypeName,
  runner_id: RunnerId,
});
export type ClaimRequest = z.infer<typeof ClaimRequest>;

export const HeartbeatRequest = z.strictObject({
  runner_id: RunnerId,
  status: HeartbeatStatus,
  current_benchmark: clipped(200).nullish(),
  // clamped, not refused: a 100.4 from a runner's rounding must not cost the heartbeat
  progress_pct: z
    .number()
    .transform((v) => Math.min(100, Math.max(0, v)))
    .pipe(rounded(2))
    .nullish(),
  message: clipped(1_000).nullish(),
  attempt: omittable(Attempt),
});
export type HeartbeatRequest = z.infer<typeof HeartbeatRequest>;

export const CompleteRequest = z.strictObject({
  runner_id: RunnerId,
  s3_result_key: omittable(z.string().max(512)),
  attempt: omittable(Attempt),
});
export type CompleteRequest = z.infer<typeof CompleteRequest>;

export const FailRequest = z.strictObject({
  runner_id: RunnerId,
  error_type: ErrorType,
  error_message: clipped(MAX_ERROR_MESSAGE).nullish(),
  s3_error_key: z.string().max(512).nullish(),
  debug_mode: omittable(z.boolean()),
  attempt: omittable(Attempt),
});
export type FailRequest = z.infer<typeof FailRequest>;

/**
 * `POST /run/stop` takes no body (the spec), or the run the caller means: a dashboard whose dialog
 * stayed open while a new run started must not stop that one.
 */
export const StopRequest = z.strictObject({ run_id: omittable(RunId) });
export type StopRequest = z.infer<typeof StopRequest>;

export const UploadUrlsRequest = z.strictObject({
  runner_id: RunnerId,
  attempt: omittable(Attempt),
});
export type UploadUrlsRequest = z.infer<typeof UploadUrlsRequest>;

/** Both spec files' spellings: `result`/`result_upload_url` and `error`/`error_upload_url` are the same URLs. */
export const PresignedUrls = z.object({
  result: z.string(),
  error: z.string(),
  result_upload_url: z.string(),
  error_upload_url: z.string(),
  result_key: z.string(),
  error_key: z.string(),
  expires_in_seconds: z.number(),
});
export type PresignedUrls = z.infer<typeof PresignedUrls>;

/** The fields that name a task, in every shape of it: `run` and `run_number` are the same number. */
const TaskIdentity = z.object({
  id: z.number().int(),
  run_id: z.number().int(),
  provider: Provider,
  instance_type: z.string(),
  run: z.number().int(),
  run_number: z.number().int(),
});

/** A task as a runner sees it in a claim. */
export const ClaimedTask = TaskIdentity.extend({
  attempt: z.number().int(),
  ruby_version: z.string(),
  image: z.string(),
  benchmarks: z.array(z.string()).optional(),
  ruby_bench_ref: z.string().optional(),
  ruby_bench_env: z.record(z.string(), z.number()).optional(),
});
export type ClaimedTask = z.infer<typeof ClaimedTask>;

export const ClaimResponse = z.discriminatedUnion('status', [
  z.object({ status: z.literal('assigned'), task: ClaimedTask, presigned_urls: PresignedUrls }),
  z.object({ status: z.literal('wait'), retry_after_seconds: z.number() }),
  z.object({ status: z.literal('done') }),
]);
export type ClaimResponse = z.infer<typeof ClaimResponse>;

export const HeartbeatResponse = z.object({ action: z.enum(['continue', 'abort']) });
export type HeartbeatResponse = z.infer<typeof HeartbeatResponse>;

/** A task as the read routes show it (dashboard, CLI, manifest). */
export const TaskView = TaskIdentity.extend({
  status: TaskStatus,
  attempt: z.number().int(),
  runner_id: z.string().nullable(),
  claimed_at: z.string().nullable(),
  heartbeat_at: z.string().nullable(),
  heartbeat_status: HeartbeatStatus.nullable(),
  heartbeat_message: z.string().nullable(),
  current_benchmark: z.string().nullable(),
  progress_pct: z.number().nullable(),
  finished_at: z.string().nullable(),
  error_type: z.string().nullable(),
  error_message: z.string().nullable(),
  s3_result_key: z.string().nullable(),
  s3_error_key: z.string().nullable(),
  debug_mode: z.boolean(),
});
export type TaskView = z.infer<typeof TaskView>;

export const TaskCounts = z.object({
  total: z.number().int(),
  pending: z.number().int(),
  claimed: z.number().int(),
  running: z.number().int(),
  completed: z.number().int(),
  failed: z.number().int(),
  cancelled: z.number().int(),
});
export type TaskCounts = z.infer<typeof TaskCounts>;

export const RunView = z.object({
  run_id: z.number().int(),
  status: RunStatus,
  ruby_version: z.string(),
  runs_per_instance_type: z.number().int(),
  max_attempts: z.number().int(),
  created_at: z.string(),
  completed_at: z.string().nullable(),
  finished_at: z.string().nullable(),
  tasks: TaskCounts,
  /** Per instance type, for bars on the dashboard: counts of the same statuses. */
  instance_types: z.array(
    z.object({
      provider: Provider,
      instance_type: z.string(),
      counts: TaskCounts,
    }),
  ),
  gzip_url: z.string().nullable(),
  archive_key: z.string().nullable(),
  assembly_error: z.string().nullable(),
});
export type RunView = z.infer<typeof RunView>;

export const StartRunResponse = z.object({
  run_id: z.number().int(),
  tasks_created: z.number().int(),
  tasks: z.array(
    z.object({
      id: z.number().int(),
      provider: Provider,
      instance_type: z.string(),
      run: z.number().int(),
      run_number: z.number().int(),
      status: TaskStatus,
    }),
  ),
});
export type StartRunResponse = z.infer<typeof StartRunResponse>;

export const TaskListResponse = z.object({
  run_id: z.number().int(),
  tasks: z.array(TaskView),
  next_cursor: z.string().nullable(),
});
export type TaskListResponse = z.infer<typeof TaskListResponse>;

export const TaskListQuery = z.strictObject({
  // a query string is text: judged as text, so `limit=abc` is named as such, not as "NaN"
  limit: z
    .string()
    .regex(/^[0-9]{1,4}$/, 'must be a whole number from 1 to 1000')
    .transform(Number)
    .pipe(z.number().min(1).max(1000))
    .default(500),
  cursor: z
    .string()
    .regex(/^[0-9]{1,6}$/, 'must be a cursor returned as next_cursor')
    .optional(),
});
export type TaskListQuery = z.infer<typeof TaskListQuery>;

export const MessageResponse = z.object({ message: z.string(), run_id: z.number().int().optional() });
export type MessageResponse = z.infer<typeof MessageResponse>;

export const ERROR_CODES = [
  'invalid_request',
  'unauthorized',
  'not_found',
  'run_in_progress',
  'not_your_task',
  'task_finished',
  'result_not_uploaded',
  'stale_attempt',
  'payload_too_large',
  'unavailable',
  'internal',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];
export const ErrorBody = z.object({ error: z.enum(ERROR_CODES), message: z.string() });
export type ErrorBody = z.infer<typeof ErrorBody>;

/** Storage keys are minted here and nowhere else. */
export const storageKeys = {
  result: (runId: number, taskId: number): string => `runs/${runId}/tasks/${taskId}/result.tar.gz`,
  error: (runId: number, taskId: number): string => `runs/${runId}/tasks/${taskId}/error.tar.gz`,
  archive: (runId: number): string => `runs/${runId}/results.tar.gz`,
  /** Scratch space of the assembly workflow (task listings), never handed out. */
  assemblyScratch: (runId: number, name: string): string => `runs/${runId}/assembly/${name}`,
};

export const taskIdOf = (runId: number, index: number): number => runId * TASK_ID_FACTOR + index + 1;
export const splitTaskId = (taskId: number): { runId: number; index: number } => ({
  runId: Math.floor(taskId / TASK_ID_FACTOR),
  index: (taskId % TASK_ID_FACTOR) - 1,
});

// The archive's formats (manifest.json, meta.json) are defined in archive-format.ts.
export * from './archive-format';
