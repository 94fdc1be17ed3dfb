// Options several cloud commands share, so they read the same everywhere.
import type { Command } from 'commander';
import { RunId } from '../../lambdas/shared/contract';
import type { ApiFlags } from './api';
import { CliError } from './errors';

export interface JsonFlag {
  json?: boolean;
}

/**
 * --api-url and --api-key. `reads`: a command that only reads (status, watch) sends a key only when
 * one is given, as reads need none; the deployment's secret is not looked up for it.
 */
export function apiOptions(cmd: Command, reads = false): Command {
  return cmd
    .option(
      '--api-url <url>',
      'the API (default: BENCHFLEET_API_URL, else ApiUrl in .benchfleet/outputs.json)',
    )
    .option(
      '--api-key <key>',
      reads
        ? 'the operator key (default: BENCHFLEET_API_KEY), sent only when given: reads need none, and with it the finished run shows its archive link'
        : "the operator key (default: BENCHFLEET_API_KEY, else, for the deployment's own API, read from Secrets Manager)",
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
