// `benchfleet status`: one look at the current run (GET /run), per instance type and active task.
import type { Command } from 'commander';
import { ApiClient, ApiError, apiTarget, NotJsonAnswer } from '../lib/api';
import { action } from '../lib/errors';
import { type ApiCommandFlags, apiOptions, out, printJson } from '../lib/options';
import { renderRun } from '../lib/progress';
import { forTerminal } from '../lib/terminal';
import { buildsWords } from '../lib/version-skew';

/** Failed tasks listed one per line; the rest are counted. */
const FAILED_SHOWN = 10;

export function register(program: Command): void {
  apiOptions(
    program
      .command('status')
      .description('show the current run once: counts per instance type and the tasks running now')
      .option('--json', 'print the run (GET /run) and its tasks as JSON'),
    true,
  ).action(
    action('status', async (flags: ApiCommandFlags) => {
      const target = apiTarget(flags);
      const api = new ApiClient(target);
      // The key is optional here: with one, the answer also carries the archive URL; a wrong one
      // is refused (401), so the person learns of it.
      const withKey = target.givenBy !== undefined;
      const run = await api.getRun(withKey).catch((err: unknown) => {
        if ((err instanceof ApiError || err instanceof NotJsonAnswer) && err.status === 404) {
          throw api.runNotFound(err);
        }
        throw err;
      });
      const tasks = await api.listTasks();
      if (flags.json) return printJson({ run, tasks });
      for (const line of renderRun(run, tasks, new Date())) out(line);
      const failed = tasks.filter((t) => t.status === 'failed');
      for (const t of failed.slice(0, FAILED_SHOWN)) {
        out(
          `    failed: task ${t.id} ${t.instance_type} run ${t.run}: ${forTerminal(`${t.error_type ?? '?'} ${t.error_message ?? ''}`)}`.trimEnd(),
        );
      }
      if (failed.length > FAILED_SHOWN)
        out(
          `    ... and ${failed.length - FAILED_SHOWN} more failed tasks (all of them: \`benchfleet status --json\`)`,
        );
      if (run.gzip_url) out(`  archive: ${run.gzip_url}`);
      if (run.assembly_error) out(`  assembly error: ${forTerminal(run.assembly_error)}`);
      const builds = api.otherBuild();
      if (builds) {
        process.stderr.write(
          `note: the API at ${api.url} was deployed from another build of Benchfleet: ${buildsWords(builds)}. Fields and statuses one knows and the other does not are read wrongly; \`benchfleet deploy\` deploys this checkout (refused while a run is at work), or use the checkout that deployed it\n`,
        );
      }
    }),
  );
}
