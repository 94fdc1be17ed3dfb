// The last-resort bound on a runner VM's life (`benchfleet start --max-vm-hours`). At boot each VM
// arms a systemd timer that, this many hours after boot, powers it off (AWS, where EC2 then
// terminates it) or deallocates it (Azure), whatever its runner is doing: a runner hung in a Docker
// call, or looping on claims, no longer bills until someone runs teardown or nuke. Defined once
// here: the CLI's default and checks, the fleet plan file the AWS fleet stack reads, and the tfvars
// of terraform-azure (whose variables.tf repeats the bounds, as it shares no code).
// Type imports only: the runner bundle imports the runner facts below and nothing else of the plan.
import type { RunConfig } from './contract';
import type { FleetEntry } from './fleet-plan';

/**
 * The runner's `--task-timeout-s` default (runner/options.ts), which cloud VMs run with: a task
 * attempt is stopped this long after its claim, provisioning and the benchmark included.
 */
export const RUNNER_TASK_TIMEOUT_S = 7200;
/**
 * The runner's `--start-wait-s` default: a runner that gets no task this long after it starts
 * gives up (and its VM powers off). The CLI launches both fleets before POST /run/start, so the
 * AWS VMs wait for Azure's terraform apply.
 */
export const RUNNER_START_WAIT_S = 3600;

/**
 * --max-vm-hours from 1 to 168. Under an hour a VM could not boot, provision and run one real
 * task; past a week no run of this tool makes sense, and the bound would no longer bound much.
 */
export const MIN_MAX_VM_HOURS = 1;
export const MAX_MAX_VM_HOURS = 168;
/**
 * The bound of a VM whose fleet plan file has no `maxVmHours` (written by an older CLI; its stack
 * is only destroyed) and terraform-azure's default when applied by hand.
 */
export const FALLBACK_MAX_VM_HOURS = 24;

/** Boot, packages (Docker; Node.js on Azure), the runner download: Azure's apt is the slow one. */
const BOOT_S = 20 * 60;
/**
 * What an attempt takes past its timeout (the executor's 30 s grace, the error upload, the fail)
 * and between attempts (the reaper's 2-minute heartbeat timeout on its 1-minute schedule, a claim).
 */
const ATTEMPT_SLACK_S = 15 * 60;
/** Whatever the sum above misses: a slow upload, a slow API, a clock that drifts. */
const MARGIN_S = 60 * 60;

/**
 * This run's default --max-vm-hours: the longest a VM of a run that goes as planned can be up,
 * plus an hour, rounded up to whole hours (5 h by default; 14 h with max_attempts 5).
 *
 * A VM lives from its boot until its type has no task left that could still come back (until
 * then claims answer `wait`), so its life is its type's: boot (BOOT_S), at most the runner's start
 * wait for the run's first task (RUNNER_START_WAIT_S), then each slot's tasks. A type gets
 * ceil(tasks / slots_per_vm) VMs (planFleet), so a slot gets one task (`waves`, kept in the
 * formula should the plan ever cap VMs), and a task that fails in a retryable way is tried again,
 * up to max_attempts times in a row, each attempt stopped at RUNNER_TASK_TIMEOUT_S.
 * pending_timeout_minutes plays no part: it decides when tasks that no VM ever claimed fail, and a
 * VM that is up has claimed, or has given up after its start wait.
 * A run that does not go as planned (a VM of the type never boots, so the others run its tasks in a
 * second wave) may reach the bound; its VMs end and their tasks fail, as the run still drains.
 */
export function defaultMaxVmHours(
  config: Pick<RunConfig, 'max_attempts'>,
  entries: ReadonlyArray<Pick<FleetEntry, 'tasks' | 'vm_count' | 'slots_per_vm'>>,
): number {
  const attempts = config.max_attempts ?? 1; // the API's default (lambdas/core/run-records.ts)
  const waves = Math.max(
    1,
    ...entries.map((e) => (e.vm_count > 0 ? Math.ceil(e.tasks / (e.vm_count * e.slots_per_vm)) : 0)),
  );
  const seconds =
    BOOT_S + RUNNER_START_WAIT_S + waves * attempts * (RUNNER_TASK_TIMEOUT_S + ATTEMPT_SLACK_S) + MARGIN_S;
  return Math.min(MAX_MAX_VM_HOURS, Math.max(MIN_MAX_VM_HOURS, Math.ceil(seconds / 3600)));
}

/**
 * How long past the VMs' own maximum life the AWS fleet stack's outside bound (an EventBridge
 * Scheduler job per VM) terminates whatever of the fleet is still up: a VM whose user data never
 * ran, or whose timer never fired, has no inside bound. An hour covers the deploy: the VMs boot a
 * few minutes after the CLI writes the deadline (by the deployment's clock, start-run.ts).
 */
export const BACKSTOP_GRACE_S = 60 * 60;

/**
 * The outside bound of a fleet launched `now` whose VMs live at most `hours`, in whole seconds of
 * UTC (EventBridge Scheduler drops milliseconds): ISO 8601, as the fleet plan file holds it.
 */
export function fleetDeadline(hours: number, now: Date): string {
  const at = now.getTime() + maxVmMinutes(hours) * 60_000 + BACKSTOP_GRACE_S * 1000;
  return new Date(Math.ceil(at / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

/** The timer's delay in whole minutes (terraform-azure rounds the same way: floor(h * 60 + 0.5)). */
export const maxVmMinutes = (hours: number): number => Math.round(hours * 60);

/**
 * GiB of a runner VM's disk: about 20 for the OS, Docker's Ruby image and the runner, and about 1
 * for each slot (its container's ruby-bench clone and gems, its logs, its result tarball), at
 * least `minimum` (the provider's usual size). A fixed disk filled on large types (one slot per
 * vCPU: 96 or 192 containers), failing their tasks as provision_failed. An estimate, not a
 * measurement: README's notes say so. gp3 or Standard SSD cost cents per VM-hour at most.
 */
export function runnerDiskGb(slotsPerVm: number, minimum: number): number {
  return Math.max(minimum, 20 + Math.ceil(slotsPerVm));
}

/** The smallest disk of a runner VM, as each provider's images come. */
export const MIN_RUNNER_DISK_GB = { aws: 30, azure: 64 } as const;
