// `benchfleet watch`: live progress of the current run until it is complete, cancelled or failed.
import type { Command } from 'commander';
import { ApiClient, apiTarget } from '../lib/api';
import { action, CliError } from '../lib/errors';
import { type ApiCommandFlags, apiOptions, out } from '../lib/options';
import { summaryLine, watchRun } from '../lib/progress';
import { resultsHint } from '../lib/state';
import { forTerminal } from '../lib/terminal';

export function register(program: Command): void {
  apiOptions(
    program
      .command('watch')
      .description('follow the current run live until it ends (Ctrl-C stops watching, not the run)')
      .option('--json', 'print the run (GET /run) as one JSON line each time it changes'),
    true,
  ).action(
    action('watch', async (flags: ApiCommandFlags) => {
      const target = apiTarget(flags);
      const api = new ApiClient(target);
      // A key given is checked by the first poll (a wrong one is refused with 401), not after a
      // long watch; with it, the final view carries gzip_url.
      const withKey = target.givenBy !== undefined;
      const run = await watchRun(api, { json: Boolean(flags.json), withKey });
      if (!flags.json) {
        out(summaryLine(run));
        if (run.status !== 'assembly_failed') out(resultsHint(run.run_id, api.url));
      }
      if (run.status === 'assembly_failed') {
        const again = flags.apiUrl ? `benchfleet assemble --api-url ${api.url}` : 'benchfleet assemble';
        throw new CliError(
          `run ${run.run_id} ended assembly_failed: ${forTerminal(run.assembly_error ?? 'no reason given')}; \`${again}\` builds its archive again (the uploaded results are kept)`,
        );
      }
    }),
  );
}
