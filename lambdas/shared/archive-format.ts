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

/** meta.json written by the runner into result.tar.gz and error.tar.gz. */
export const RunnerMeta = z.object({
  runner_id: z.string(),
  provider: z.string(),
  instance_type: z.string(),
  task_id: z.number().int(),
  run: z.number().int(),
  attempt: z.number().int(),
  cpu_model: z.string().nullable(),
  vcpus: z.number().int().nullable(),
  physical_cores: z.number().int().nullable(),
  memory_mb: z.number().nullable(),
  kernel: z.string().nullable(),
  os: z.string().nullable(),
  arch: z.string().nullable(),
  docker_version: z.string().nullable(),
  image: z.string().nullable(),
  /** `sha256:...`: the registry digest of the image that ran (null: built locally, or an older runner) */
  image_digest: z.string().nullable(),
  ruby_description: z.string().nullable(),
  ruby_bench_ref: z.string().nullable(),
  /** the full commit the ref resolved to (null: a mounted checkout, no git, or an older runner) */
  ruby_bench_commit: z.string().nullable(),
  slot_cpu: z.number().int().nullable(),
  sibling_busy: z.boolean().nullable(),
  started_at: z.string(),
  finished_at: z.string().nullable(),
  exit_code: z.number().int().nullable(),
});
export type RunnerMeta = z.infer<typeof RunnerMeta>;
