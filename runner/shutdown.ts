// Powers the host off once every slot has exited. The command is a flag because Azure VMs must
// deallocate themselves (a plain shutdown keeps billing the compute) while EC2 stops on `shutdown`.
import { spawn } from 'node:child_process';
import type { Logger } from './log';

export function runShutdownCommand(command: string, log: Logger): Promise<number> {
  log.info(`all slots are done; running the shutdown command: ${command}`);
  return new Promise((resolve) => {
    const child = spawn('sh', ['-c', command], { stdio: ['ignore', 'inherit', 'inherit'] });
    child.on('error', (err) => {
      log.error(`shutdown command could not start: ${err.message}`);
      resolve(127);
    });
    child.on('close', (code) => {
      if (code !== 0) log.error(`shutdown command exited with ${code}`);
      resolve(code ?? 1);
    });
  });
}

/** The decision, separate from the act so tests can check it. */
export function shouldShutDown(o: {
  shutdownOnDone: boolean;
  debug: boolean;
  interrupted: boolean;
  tasksFailed: number;
}): { shutdown: boolean; why: string } {
  if (!o.shutdownOnDone) return { shutdown: false, why: 'no --shutdown-on-done' };
  if (o.interrupted)
    return { shutdown: false, why: 'interrupted by a signal; the host is already going down' };
  if (o.debug && o.tasksFailed > 0) {
    return { shutdown: false, why: `--debug and ${o.tasksFailed} task(s) failed: staying up for inspection` };
  }
  return { shutdown: true, why: 'every slot is done' };
}
