// `benchfleet stop [RUN_ID]`: end the current run early (POST /run/stop); completed results are kept.
// With RUN_ID, only that run: if another run is current by now (yours ended, a teammate's began),
// the API refuses and nothing is stopped. A run that has already ended is nothing to stop: said,
// and exit 0, as nothing is running, which is what stop asks for.
import type { Command } from 'commander';
import type { RunStatus } from '../../lambdas/shared/enums';
import { ApiClient, ApiError, apiTarget, isNoRunYet, NO_RUN_YET } from '../lib/api';
import { action, CliError } from '../lib/errors';
import { type ApiCommandFlags, apiOptions, out, printJson, runIdArg } from '../lib/options';
import { isDeploymentApi, resultsHint } from '../lib/state';

export function register(program: Command): void {
  apiOptions(
    program
      .command('stop')
      .description(
        'end the current run early: unfinished tasks are cancelled, the archive is built from the completed ones',
      )
      .argument('[run-id]', 'stop only this run: refused, stopping nothing, if another run is current')
      .option(
        '--json',
        'print {message, run_id, stopped} as JSON (stopped: false, with its status, when the run had already ended)',
      ),
  ).action(
    action('stop', async (given: string | undefined, flags: ApiCommandFlags) => {
      const runId = given === undefined ? undefined : runIdArg(given);
      const api = new ApiClient(apiTarget(flags));
      // `watch` must ask the same API: name --api-url when it came from the flag.
      const watch = flags.apiUrl ? `benchfleet watch --api-url ${api.url}` : 'benchfleet watch';
      let answer: { message: string; run_id?: number };
      try {
        answer = await api.stopRun(runId);
      } catch (err) {
        const ended = err instanceof ApiError && err.status === 404 ? endedRun(err.said) : undefined;
        if (!ended) throw isNoRunYet(err) ? new CliError(NO_RUN_YET, { cause: err }) : err;
        // "just finished" names no status: GET /run tells it, while that run is still the current one
        const now = ended.status ? undefined : await api.getRun().catch(() => undefined);
        const status = ended.status ?? (now?.run_id === ended.run_id ? now.status : undefined);
        const message = nothingToStop(ended.run_id, status, api.url, watch);
        if (flags.json)
          return printJson({ message, run_id: ended.run_id, status: status ?? null, stopped: false });
        return out(message);
      }
      if (flags.json) return printJson({ ...answer, stopped: true });
      out(answer.message);
      const id = answer.run_id ?? 'RUN_ID';
      out(`The archive is being built: follow it with \`${watch}\`.`);
      out(resultsHint(id, api.url));
    }),
  );
}

/**
 * The API's 404 for a stop that came after the run ended (lambdas/core/runs.ts `stopRun`): the
 * run and, unless it "just finished", its status. Anything else (no run at all, another run
 * current) stays an error.
 */
function endedRun(said: string): { run_id: number; status?: RunStatus } | undefined {
  const m = /^no run in progress: run (\d+) (?:is already (\w+)|just finished)/.exec(said);
  if (!m) return undefined;
  return { run_id: Number(m[1]), ...(m[2] && { status: m[2] as RunStatus }) };
}

/** One line: which run, how it ended, and where its results are (only when it has them). */
function nothingToStop(runId: number, status: RunStatus | undefined, apiUrl: string, watch: string): string {
  const head = `nothing to stop: run ${runId}`;
  switch (status) {
    case 'complete':
    case 'cancelled':
      return isDeploymentApi(apiUrl)
        ? `${head} is already ${status}; \`benchfleet download ${runId}\` fetches its results`
        : `${head} is already ${status}. ${resultsHint(runId, apiUrl)}`;
    case 'assembling':
      return `${head} has already ended and its archive is being built: follow it with \`${watch}\``;
    case 'assembly_failed':
      return `${head} is already assembly_failed (its archive could not be built): see \`benchfleet status\``;
    default:
      return `${head} has already ended: see \`benchfleet status\``;
  }
}
