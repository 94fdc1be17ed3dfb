// `benchfleet stop`: end the current run early (POST /run/stop); completed results are kept.
import type { Command } from 'commander';
import { ApiClient, apiTarget } from '../lib/api';
import { action } from '../lib/errors';
import { type ApiCommandFlags, apiOptions, out, printJson } from '../lib/options';
import { resultsHint } from '../lib/state';

export function register(program: Command): void {
  apiOptions(
    program
      .command('stop')
      .description(
        'end the current run early: unfinished tasks are cancelled, the archive is built from the completed ones',
      )
      .option('--json', 'print the API answer as JSON'),
  ).action(
    action('stop', async (flags: ApiCommandFlags) => {
      const api = new ApiClient(apiTarget(flags));
      const answer = await api.stopRun();
      if (flags.json) return printJson(answer);
      out(answer.message);
      const id = answer.run_id ?? 'RUN_ID';
      // `watch` must ask the same API: name --api-url when it came from the flag.
      const watch = flags.apiUrl ? `benchfleet watch --api-url ${api.url}` : 'benchfleet watch';
      out(`The archive is being built: follow it with \`${watch}\`.`);
      out(resultsHint(id, api.url));
    }),
  );
}
