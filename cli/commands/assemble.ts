// `benchfleet assemble`: build the current run's archive again (POST /run/assemble) after its
// assembly failed (`assembly_failed`, say a bucket that refused the upload for a while). The
// results the runners uploaded are still there; only the archive is built again.
import type { Command } from 'commander';
import { ApiClient, apiTarget } from '../lib/api';
import { action } from '../lib/errors';
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
      const answer = await api.assembleRun();
      if (flags.json) return printJson(answer);
      out(answer.message);
      const watch = flags.apiUrl ? `benchfleet watch --api-url ${api.url}` : 'benchfleet watch';
      out(`The archive is being built: follow it with \`${watch}\`.`);
      out(resultsHint(answer.run_id, api.url));
    }),
  );
}
