// `benchfleet stop [RUN_ID]`: end the current run early (POST /run/stop); completed results are kept.
// With RUN_ID, only that run: if another run is current by now (yours ended, a teammate's began),
// the API refuses and nothing is stopped.
import type { Command } from 'commander';
import { ApiClient, apiTarget } from '../lib/api';
import { action } from '../lib/errors';
import { type ApiCommandFlags, apiOptions, out, printJson, runIdArg } from '../lib/options';
import { resultsHint } from '../lib/state';

export function register(program: Command): void {
  apiOptions(
    program
      .command('stop')
      .description(
        'end the current run early: unfinished tasks are cancelled, the archive is built from the completed ones',
      )
      .argument('[run-id]', 'stop only this run: refused, stopping nothing, if another run is current')
      .option('--json', 'print the API answer as JSON'),
  ).action(
    action('stop', async (given: string | undefined, flags: ApiCommandFlags) => {
      const runId = given === undefined ? undefined : runIdArg(given);
      const api = new ApiClient(apiTarget(flags));
      const answer = await api.stopRun(runId);
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
