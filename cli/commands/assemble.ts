// `benchfleet assemble`: build the current run's archive again (POST /run/assemble) after its
// assembly failed (`assembly_failed`, say a bucket that refused the upload for a while). The
// results the runners uploaded are still there; only the archive is built again.
import type { Command } from 'commander';
import { ApiClient, ApiError, apiTarget, isNoRunYet, NO_RUN_YET } from '../lib/api';
import { action, CliError } from '../lib/errors';
import { type ApiCommandFlags, apiOptions, out, printJson } from '../lib/options';
import { resultsHint } from '../lib/state';

export function register(program: Command): void {
  apiOptions(
    program
      .command('assemble')
      .description("build the current run's archive again after its assembly failed (assembly_failed)")
      .option('--json', 'print the API answer as JSON'),
  ).action(
    action('assemble', async (flags: ApiCommandFlags) => {
      const api = new ApiClient(apiTarget(flags));
      const answer = await api.assembleRun().catch((err: unknown) => {
        throw refusal(err, api.url);
      });
      if (flags.json) return printJson(answer);
      out(answer.message);
      const watch = flags.apiUrl ? `benchfleet watch --api-url ${api.url}` : 'benchfleet watch';
      out(`The archive is being built: follow it with \`${watch}\`.`);
      out(resultsHint(answer.run_id, api.url));
    }),
  );
}

/**
 * The API's 404s in words for this command: no run yet, or a run that already has its archive
 * (lambdas/core/run-assembly.ts `reassembleRun`), which is nothing to assemble.
 */
function refusal(err: unknown, apiUrl: string): unknown {
  if (isNoRunYet(err)) return new CliError(NO_RUN_YET, { cause: err });
  const done =
    err instanceof ApiError && err.status === 404
      ? /^no run to assemble again: run (\d+) is already (\w+)/.exec(err.said)
      : null;
  if (!done) return err;
  const runId = Number(done[1]);
  return new CliError(
    `nothing to assemble: run ${runId} is already ${done[2]}, with its archive. ${resultsHint(runId, apiUrl)}`,
    { cause: err },
  );
}
