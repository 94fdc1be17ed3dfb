#!/usr/bin/env node
// Entry point of the `benchfleet` CLI: runs the TypeScript sources through tsx, so no build step
// stands between a checkout and `npm start`.
// The handlers' structured JSON logs are for CloudWatch; in a terminal only warnings and errors
// show, unless POWERTOOLS_LOG_LEVEL asks for more, or `local --verbose` (cli/lib/local-logs.ts).
process.env.POWERTOOLS_LOG_LEVEL ||= 'WARN';
// tsx resolves the tsconfig `paths` (@benchfleet/aws-sdk) from this tsconfig, whatever the cwd.
process.env.TSX_TSCONFIG_PATH ??= require('node:path').join(__dirname, '..', 'tsconfig.json');
require('tsx/cjs');
require('../cli/main.ts').main();
