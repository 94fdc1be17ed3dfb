// Options several cloud commands share, so they read the same everywhere.
import type { Command } from 'commander';
import { RunId } from '../../lambdas/shared/contract';
import type { ApiFlags } from './api';
import { CliError } from './errors';

export interface JsonFlag {
  json?: boolean;
}

export function apiOptions(cmd: Command): Command {
  return cmd
    .option(
      '--api-url <url>',
      'the API (default: BENCHFLEET_API_URL, else ApiUrl in .benchfleet/outputs.json)',
    )
    .option(
      '--api-key <key>',
      "the operator key (default: BENCHFLEET_API_KEY, else, for the deployment's own API, read from Secrets Manager)",
    );
}

export type ApiCommandFlags = ApiFlags & JsonFlag;

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** stdout line; process.stdout rather than console so tests and pipes see the same bytes. */
export function out(line = ''): void {
  process.stdout.write(`${line}\n`);
}

/** A RUN_ID argument: a positive integer the API takes as a run id, else a CliError naming it. */
export function runIdArg(id: string): number {
  const parsed = RunId.safeParse(Number(id));
  if (!/^\d+$/.test(id) || !parsed.success)
    throw new CliError(`"${id}" is not a run id (a positive integer)`);
  return parsed.data;
}
