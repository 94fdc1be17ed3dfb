// The words of a task that failed without results: what ran, how it ended, what it said last, and
// where its logs are. The task's error_message is all most people read of a failure.
import { lastStderrLine } from './executors/log-files';

/** What each executor runs, for messages: the docker executor's container runs ruby-bench. */
const WORKLOAD: Record<string, string> = {
  docker: 'ruby-bench',
  command: 'the --command',
  synthetic: 'the synthetic workload',
};

/** Where a failed task's full logs are, as far as this runner knows. */
export function logsWhere(errorKey: string | null, debug: boolean, logsDir: string): string {
  if (errorKey)
    return "full logs: logs/stderr.log and logs/stdout.log in the task's error.tar.gz (its error/ folder in the run's results.tar.gz)";
  if (debug)
    return `full logs: ${logsDir} on the runner's host (kept by --debug); error.tar.gz was not uploaded`;
  return "its logs were not uploaded (the runner's log says why)";
}

/** A workload that exited without writing output.txt: which, its status, its last benchmark and stderr line. */
export async function noOutputText(
  executor: string,
  exitCode: number | undefined,
  lastBenchmark: string | undefined | null,
  logsDir: string,
): Promise<string> {
  const last = await lastStderrLine(logsDir);
  const started = lastBenchmark ? ` (the last benchmark it started: ${lastBenchmark.slice(0, 100)})` : '';
  return (
    `${WORKLOAD[executor] ?? `the ${executor} workload`} exited with status ${exitCode} without writing output.txt${started}; ` +
    (last === undefined ? 'its stderr was empty' : `the last line of its stderr: ${JSON.stringify(last)}`)
  );
}
