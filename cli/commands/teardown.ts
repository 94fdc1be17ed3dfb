// `benchfleet teardown [RUN_ID]`: tear down the fleets of runs this folder launched (all, or one)
// and nothing else: what --keep-fleet, a lost watch or a failed teardown left up. The meta stack
// and the archives stay, as does a fleet whose run is still at work.
import type { Command } from 'commander';
import { action } from '../lib/errors';
import type { TeardownFlags } from '../lib/teardown-run';

// Loaded on use (require: tsx runs the CLI as CommonJS) so `benchfleet --help` skips the cloud SDKs.
const lazy = () => require('../lib/teardown-run') as typeof import('../lib/teardown-run');

export function register(program: Command): void {
  program
    .command('teardown')
    .description(
      "tear down the runner fleets of this folder's runs (all, or RUN_ID's); the API, its archives and a run at work stay",
    )
    .argument('[run-id]', 'only this run')
    .option('--json', 'print {runs: [{run_id, aws, azure}]} as JSON on stdout')
    .action(action('teardown', (id: string | undefined, flags: TeardownFlags) => lazy().teardown(id, flags)));
}
