#!/usr/bin/env node
// Entry point of the `benchfleet` CLI: runs the TypeScript sources through tsx, so no build step
// stands between a checkout and `npm start`.
// The handlers' structured JSON logs are for CloudWatch; in a terminal only warnings and errors
// show, unless --verbose (or POWERTOOLS_LOG_LEVEL) asks for more.
if (process.argv.includes('--verbose')) {
  process.argv = process.argv.filter((a) => a !== '--verbose');
  process.env.POWERTOOLS_LOG_LEVEL ??= 'INFO';
}
process.env.POWERTOOLS_LOG_LEVEL ??= 'WARN';
// tsx resolves the tsconfig `paths` (@benchfleet/aws-sdk) from this tsconfig, whatever the cwd.
process.env.TSX_TSCONFIG_PATH ??= require('node:path').join(__dirname, '..', 'tsconfig.json');
require('tsx/cjs');
require('../cli/main.ts');
