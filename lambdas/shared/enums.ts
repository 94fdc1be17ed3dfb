// The closed vocabularies every other module shares: providers, task and run statuses.
import * as z from 'zod';

export const PROVIDERS = ['aws', 'azure', 'local'] as const;
export const Provider = z.enum(PROVIDERS);
export type Provider = z.infer<typeof Provider>;

export const TASK_STATUSES = ['pending', 'claimed', 'running', 'completed', 'failed', 'cancelled'] as const;
export const TaskStatus = z.enum(TASK_STATUSES);
export type TaskStatus = z.infer<typeof TaskStatus>;

export const RUN_STATUSES = ['running', 'assembling', 'complete', 'cancelled', 'assembly_failed'] as const;
export const RunStatus = z.enum(RUN_STATUSES);
export type RunStatus = z.infer<typeof RunStatus>;

/**
 * The executable name the synthetic workload's results carry where ruby-bench puts a Ruby's
 * (`interp`, `yjit`): its figures time JavaScript, and whatever shows them says so.
 */
export const SYNTHETIC_EXE = 'synthetic';
