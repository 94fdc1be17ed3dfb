// Preloaded (NODE_OPTIONS=--require) into the processes of secrets-in-logs.test.ts's server child.
// In the stand-ins' process only (lambdas/adapters/local/stand-ins.cjs) it writes one line to
// stdout and one to stderr at start. dynalite and s3rver (silent) print nothing in a normal run, so
// these lines are what shows that the stand-ins' output reaches the test's capture: if their stdio
// stopped being inherited (or were dropped), the test would otherwise go on passing without ever
// looking at it.
'use strict';
if (/stand-ins\.cjs$/.test(process.argv[1] ?? '')) {
  process.stdout.write(`stand-ins probe: stdout of pid ${process.pid}\n`);
  process.stderr.write(`stand-ins probe: stderr of pid ${process.pid}\n`);
}
