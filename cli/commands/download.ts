// `benchfleet download RUN_ID`: the archive straight from the results bucket with the operator's
// own AWS credentials (no API key needed), unpacked into results/<run-id>/, and the site built.
import type { Command } from 'commander';
import { storageKeys } from '../../lambdas/shared/contract';
import { AWS_REGION_HINT, action, CliError, describe } from '../lib/errors';
import { type JsonFlag, out, printJson, runIdArg } from '../lib/options';
import { requireOutputs } from '../lib/state';

interface DownloadFlags extends JsonFlag {
  bucket?: string;
  resultsDir?: string;
}

export function register(program: Command): void {
  program
    .command('download')
    .description(
      "fetch a run's results.tar.gz from the results bucket into results/<run-id>/ and build its site",
    )
    .argument('<run-id>', 'the run id (unix seconds), as `benchfleet status` shows it')
    .option('--bucket <name>', 'results bucket (default: ResultsBucket in .benchfleet/outputs.json)')
    .option(
      '--results-dir <dir>',
      'where results/<run-id>/ goes (default: results, or BENCHFLEET_RESULTS_DIR)',
    )
    .option('--json', 'print {run_id, results_dir, files, skipped_entries, site, previous_results} as JSON')
    .action(
      action('download', async (id: string, flags: DownloadFlags) => {
        const runId = runIdArg(id);
        // Loaded here so `benchfleet --help` stays quick.
        // require, not import(): tsx runs the CLI as CommonJS.
        const { idleTimeoutMs, resultsRootFor, TransferStalledError } =
          require('../lib/archive') as typeof import('../lib/archive');
        resultsRootFor(flags.resultsDir); // a blank one is refused before S3 is asked
        const bucket = flags.bucket ?? requireOutputs().ResultsBucket;
        const key = storageKeys.archive(runId);
        const { GetObjectCommand, S3Client } =
          require('@aws-sdk/client-s3') as typeof import('@aws-sdk/client-s3');
        const { NodeHttpHandler } =
          require('@smithy/node-http-handler') as typeof import('@smithy/node-http-handler');
        const { saveResults } = require('../lib/results') as typeof import('../lib/results');
        const idleMs = idleTimeoutMs();
        const retry = `retry with \`benchfleet download ${runId}\``;
        const s3 = new S3Client({
          requestChecksumCalculation: 'WHEN_REQUIRED',
          // A stalled S3 must not hang the command: no connection in 10 s, no answer within the idle
          // timeout, or a socket quiet for longer than that (a backstop: while the body streams, the
          // unpacker's own idle timer fires first, with a clearer message) all give up.
          requestHandler: new NodeHttpHandler({
            connectionTimeout: 10_000,
            requestTimeout: idleMs,
            throwOnRequestTimeout: true,
            socketTimeout: idleMs + 5_000,
          }),
        });
        try {
          const obj = await s3
            .send(new GetObjectCommand({ Bucket: bucket, Key: key }))
            .catch((err: Error) => {
              if (err.name === 'NoSuchKey' || err.name === 'NotFound') {
                throw new CliError(
                  `s3://${bucket}/${key} does not exist: run ${runId} has no archive yet (see \`benchfleet status\`) or the id is wrong`,
                );
              }
              if (err.name === 'TimeoutError') {
                const tries = (err as { $metadata?: { attempts?: number } }).$metadata?.attempts;
                throw new CliError(
                  `s3://${bucket}/${key} did not answer within ${idleMs / 1000} s${tries ? ` (${tries} tries)` : ''}, so the download was given up; check the network and ${retry}`,
                );
              }
              // the SDK's own words for a machine without AWS set up say neither what nor how
              if (err.message === 'Region is missing') {
                throw new CliError(`no AWS region to reach s3://${bucket} in: ${AWS_REGION_HINT}`);
              }
              // none found, or found and not loadable (an SSO session that ended): describe() tells which
              if (err.name === 'CredentialsProviderError') {
                throw new CliError(`cannot read s3://${bucket}/${key}: ${describe(err)}`, { cause: err });
              }
              if (err.name === 'AccessDenied') {
                throw new CliError(
                  `access to s3://${bucket}/${key} was denied: use credentials of the deployment's account`,
                );
              }
              throw err;
            });
          if (!obj.Body) throw new CliError(`s3://${bucket}/${key} came back without a body`);
          const report = await saveResults(
            runId,
            { stream: obj.Body as NodeJS.ReadableStream },
            flags.resultsDir,
          ).catch((err: unknown) => {
            if (err instanceof TransferStalledError) throw new CliError(`${err.message}; ${retry}`);
            throw err;
          });
          if (flags.json) return printJson(report);
          out(`results: ${report.results_dir}`);
          if (report.previous_results)
            out(`kept:    ${report.previous_results.moved_to} (what was there before)`);
          if (report.site) out(`site:    ${report.site}`);
        } finally {
          s3.destroy();
        }
      }),
    );
}
