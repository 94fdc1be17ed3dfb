// The records a new run starts with: its run item and one pending task per instance type and run.
import { instanceTypesOf, type RunConfig, taskIdOf } from '../shared/contract';
import type { QueueDef, RunRecord, TaskRecord } from './ports';

export const DEFAULT_PENDING_TIMEOUT_MINUTES = 30;

export function buildRun(
  runId: number,
  cfg: RunConfig,
  now: string,
): { run: RunRecord; tasks: TaskRecord[] } {
  const queues: QueueDef[] = [];
  const tasks: TaskRecord[] = [];
  const maxAttempts = cfg.max_attempts ?? 1;
  for (const { provider, instance_type } of instanceTypesOf(cfg)) {
    const base = tasks.length;
    queues.push({ provider, instance_type, base, count: cfg.runs_per_instance_type });
    for (let r = 1; r <= cfg.runs_per_instance_type; r++) {
      const index = tasks.length;
      tasks.push({
        run_id: runId,
        index,
        id: taskIdOf(runId, index),
        provider,
        instance_type,
        run: r,
        status: 'pending',
        attempt: 0,
        max_attempts: maxAttempts,
        gen: 0,
        runner_id: null,
        claimed_at: null,
        heartbeat_at: null,
        heartbeat_status: null,
        heartbeat_message: null,
        current_benchmark: null,
        progress_pct: null,
        finished_at: null,
        error_type: null,
        error_message: null,
        s3_result_key: null,
        s3_error_key: null,
        requeued_at: null,
        requeued_by: null,
        refunds: 0,
        debug_mode: false,
        active: false,
      });
    }
  }
  const run: RunRecord = {
    run_id: runId,
    status: 'creating',
    config: cfg,
    ruby_version: cfg.ruby_version,
    runs_per_instance_type: cfg.runs_per_instance_type,
    max_attempts: maxAttempts,
    pending_timeout_minutes: cfg.pending_timeout_minutes ?? DEFAULT_PENDING_TIMEOUT_MINUTES,
    total: tasks.length,
    queues,
    created_at: now,
    finished_at: null,
    stopped: false,
    next: {},
    verified: {},
    retry: {},
    no_runner: {},
    idle: {},
    running: new Set(),
    completed: new Set(),
    failed: new Set(),
    cancelled: new Set(),
    archive_key: null,
    assembly_error: null,
    assembly_started_at: null,
    assembly_attempt: 0,
    execution_started: false,
  };
  return { run, tasks };
}
