#!/usr/bin/env node
// Entry point of the `benchfleet` CLI: runs the TypeScript sources through tsx, so no build step
// stands between a checkout and `npm start`.
require('tsx/cjs');
require('../cli/main.ts');
