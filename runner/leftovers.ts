// Task folders that a runner process before this one left in --work-dir: it ended mid-task (the
// kernel's OOM killer, a crash) and systemd started this one, or the API never acknowledged the
// task's report (such a folder is kept for a person to look at). Their tasks are still this host's in
// the API, and the reaper would fail them only minutes later as heartbeat_timeout, with no word of
// why. Each is failed at start-up as `interrupted` (retried where the run allows), saying so, and
// its folder removed, as a host restarted often would otherwise fill its disk. --debug keeps them.
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { acknowledge } from './ack';
import type { ApiClient } from './api-client';
import { errorText, type Logger } from './log';

/** A task's folder as runTask names it: `task-<id>-a<attempt>-s<slot>`. */
const TASK_FOLDER = /^task-(\d{1,20})-a(\d{1,3})-s(\d{1,5})$/;

/** Seconds each fail may spend retrying: the slots wait for these before their first claim. */
const FAIL_BUDGET_S = 15;

export interface LeftoverDeps {
  api: Pick<ApiClient, 'fail'>;
  log: Logger;
  workDir: string;
  /** The prefix of every slot's runner id, the same after a restart (instance metadata, --host-id). */
  hostId: string;
  debug: boolean;
}

/** Fails the tasks of the task folders in the work dir (all at once); answers how many there were. */
export async function failLeftoverTasks(d: LeftoverDeps): Promise<number> {
  let names: string[];
  try {
    names = await readdir(d.workDir);
  } catch (err) {
    d.log.warn(`could not look for tasks an earlier runner left in ${d.workDir}: ${errorText(err)}`);
    return 0;
  }
  const left = names.flatMap((name) => {
    const m = TASK_FOLDER.exec(name);
    return m ? [{ name, id: Number(m[1]), attempt: Number(m[2]), slot: Number(m[3]) }] : [];
  });
  await Promise.all(
    left.map(async ({ name, id, attempt, slot }) => {
      const log = d.log.child({ task: id, attempt });
      const ack = await acknowledge(log, 'fail', id, () =>
        d.api.fail(
          id,
          {
            runner_id: `${d.hostId}-${slot}`,
            error_type: 'interrupted',
            error_message:
              'the runner process that held this task ended before the API had its report (killed, out of memory, or its report was never acknowledged: see `journalctl -u benchfleet-runner` and `journalctl -k` on the VM); the next runner process found its folder',
            attempt,
          },
          FAIL_BUDGET_S,
        ),
      );
      if (ack.kind === 'done') {
        log.warn(
          `task ${id} (attempt ${attempt}) was left in ${name} by a runner process that ended mid-task: failed it as interrupted`,
        );
      }
      // unacknowledged: kept, as any task folder whose report did not get through
      if (d.debug || ack.kind === 'none') return;
      await rm(join(d.workDir, name), { recursive: true, force: true }).catch((err: unknown) =>
        log.warn(`could not remove ${name} in ${d.workDir}: ${errorText(err)}`),
      );
    }),
  );
  return left.length;
}
