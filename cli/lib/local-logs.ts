// In local mode the handlers run in this process, and their Powertools logger writes INFO and DEBUG
// lines to stdout (console.info, as in a Lambda). Here stdout belongs to the --json report, so every
// log line goes to stderr. The level is WARN unless POWERTOOLS_LOG_LEVEL says otherwise (see
// bin/benchfleet.js); --verbose lowers it to INFO.
import { Console } from 'node:console';

/** Levels that already show INFO lines: --verbose leaves them as they are. */
const INFO_OR_MORE = ['TRACE', 'DEBUG', 'INFO'];

/**
 * Must run before anything loads lambdas/shared/logger.ts (the local stack does): the logger reads
 * its level once, when it is made, and the handlers' middleware resets it to that on every call.
 */
export function routeHandlerLogs(opts: { verbose?: boolean | undefined }): void {
  const level = (process.env.POWERTOOLS_LOG_LEVEL ?? '').toUpperCase();
  if (opts.verbose && !INFO_OR_MORE.includes(level)) process.env.POWERTOOLS_LOG_LEVEL = 'INFO';
  const { logger } = require('../../lambdas/shared/logger') as typeof import('../../lambdas/shared/logger');
  const toStderr = new Console({ stdout: process.stderr, stderr: process.stderr });
  // as the logger's own console: a trace is a plain line, not a stack trace
  toStderr.trace = (message?: unknown, ...rest: unknown[]) => toStderr.log(message, ...rest);
  // The logger has no public way to pick its streams; its `console` is the one place it prints.
  (logger as unknown as { console: Console }).console = toStderr;
}
