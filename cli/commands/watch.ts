// `benchfleet watch`: live progress of the current run until it is complete, cancelled or failed.
import type { Command } from 'commander';
import { ApiClient, apiTarget } from '../lib/api';
import { action, CliError } from '../lib/errors';
import { type ApiCommandFlags, apiOptions, out } from '../lib/options';
import { summaryLine, watchRun } from '../lib/progress';
import { resultsHint } from '../lib/state';

export function register(program: Command): void {
  apiOptions(
    program
      .command('watch')
      .description('follow the current run live until it ends (Ctrl-C stops watching, not the run)')
      .option('--json', 'print the run (GET /run) as one JSON line each time it changes'),
  ).action(
    action('watch', async (flags: ApiCommandFlags) => {
      const api = new ApiClient(apiTarget(flags));
      const run = await watchRun(api, { json: Boolean(flags.json) });
      if (!flags.json) {
        out(summaryLine(run));
        if (run.status !== 'assembly_failed') out(resultsHint(run.run_id, api.url));
      }
      if (run.status === 'assembly_failed') {
        throw new CliError(
          `run ${run.run_id} ended assembly_failed: ${run.assembly_error ?? 'no reason given'}`,
        );
      }
    }),
  );
}
