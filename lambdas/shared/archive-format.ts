// What results.tar.gz holds besides ruby-bench's own files: manifest.json at the top (written by
// the assembly) and each task's meta.json (written by the runner). Re-exported by contract.ts.
import * as z from 'zod';
import { Provider, RunStatus, TaskStatus } from './enums';

/** manifest.json at the top of results.tar.gz. */
export const ManifestTask = z.object({
  id: z.number().int(),
  provider: Provider,
  instance_type: z.string(),
  run: z.number().int(),
  status: TaskStatus,
  attempt: z.number().int(),
  runner_id: z.string().nullable(),
  claimed_at: z.string().nullable(),
  finished_at: z.string().nullable(),
  error_type: z.string().nullable(),
  error_message: z.string().nullable(),
  files: z.array(z.string()),
  assembly_error: z.string().nullable(),
});
export type ManifestTask = z.infer<typeof ManifestTask>;
export const Manifest = z.object({
  run_id: z.number().int(),
  ruby_version: z.string(),
  status: RunStatus,
  config: z.record(z.string(), z.unknown()),
  created_at: z.string(),
  finished_at: z.string().nullable(),
  tasks: z.array(ManifestTask),
});
export type Manifest = z.infer<typeof Manifest>;

/**
 * meta.json written by the runner into result.tar.gz and error.tar.gz. Fields added since the first
 * runners are optional as well as nullable, so an older runner's meta.json still parses.
 */
export const RunnerMeta = z.object({
  /** `<host_id>-<slot>`: the slot's id in the API's task records */
  runner_id: z.string(),
  /**
   * The host the task ran on: the EC2 instance id, the Azure VM name, else the hostname (or
   * `--host-id`); every slot of one runner gives the same one.
   */
  host_id: z.string().nullable().optional(),
  /** the runner's own version (its package version, inlined in the bundle) */
  runner_version: z.string().nullable().optional(),
  provider: z.string(),
  instance_type: z.string(),
  task_id: z.number().int(),
  run: z.number().int(),
  attempt: z.number().int(),
  cpu_model: z.string().nullable(),
  vcpus: z.number().int().nullable(),
  physical_cores: z.number().int().nullable(),
  memory_mb: z.number().nullable(),
  /** the kernel release (`uname -r`) */
  kernel: z.string().nullable(),
  /** PRETTY_NAME from /etc/os-release (null when unreadable) */
  os: z.string().nullable(),
  arch: z.string().nullable(),
  docker_version: z.string().nullable(),
  image: z.string().nullable(),
  /** `sha256:...`: the registry digest of the image that ran (null: built locally, or an older runner) */
  image_digest: z.string().nullable().optional(),
  ruby_description: z.string().nullable(),
  ruby_bench_ref: z.string().nullable(),
  /** the full commit the ref resolved to (null: a mounted checkout, no git, or an older runner) */
  ruby_bench_commit: z.string().nullable().optional(),
  slot_cpu: z.number().int().nullable(),
  sibling_busy: z.boolean().nullable(),
  /**
   * Slots of this runner running a benchmark, this task's included, when its benchmark started
   * (1: alone on the host); null when it never started.
   */
  busy_slots_at_start: z.number().int().nullable().optional(),
  /** The most slots running a benchmark at once while this task's ran (this one included). */
  busy_slots_max: z.number().int().nullable().optional(),
  started_at: z.string(),
  finished_at: z.string().nullable(),
  exit_code: z.number().int().nullable(),
});
export type RunnerMeta = z.infer<typeof RunnerMeta>;
