// The `benchfleet` master CLI: `local` (the embedded default), the cloud commands, and `site`.
import { Command, CommanderError } from 'commander';
import { register as registerAssemble } from './commands/assemble';
import { register as registerDeploy } from './commands/deploy';
import { register as registerDownload } from './commands/download';
import { register as registerLocal } from './commands/local';
import { register as registerNuke } from './commands/nuke';
import { register as registerSite } from './commands/site';
import { register as registerStart } from './commands/start';
import { register as registerStatus } from './commands/status';
import { register as registerStop } from './commands/stop';
import { register as registerTeardown } from './commands/teardown';
import { register as registerWatch } from './commands/watch';

// Local mode pins its SDK versions; the notice about future Node 22 releases is noise for users.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
process.env.CDK_DISABLE_CLI_TELEMETRY ??= 'true';

export function buildProgram(): Command {
  const program = new Command('benchfleet')
    .description(
      'Run ruby-bench across many instance types at once; get one archive and one comparison site.',
    )
    .version(require('../package.json').version as string)
    .showHelpAfterError('(add --help for usage)')
    // Help, --version and usage errors end through main's catch, not process.exit: tsx writes its
    // compile cache as the process winds down, and an exit there left it 0-byte files that every
    // later start compiled again (a user's first `benchfleet --help` made each command slower).
    // Set before the commands are added: each inherits it.
    .exitOverride();
  for (const register of [
    registerLocal,
    registerDeploy,
    registerStart,
    registerStatus,
    registerWatch,
    registerStop,
    registerAssemble,
    registerDownload,
    registerTeardown,
    registerNuke,
    registerSite,
  ]) {
    register(program);
  }
  return program;
}

/**
 * Runs the CLI: bin/benchfleet.js calls it, whatever name it was started under (a symlink named
 * `benchfleet` from npm link, npx or a global install).
 */
export function main(argv: string[] = process.argv): void {
  // A reader that goes away early (`benchfleet status | head`) closes stdout: end quietly, as other
  // command-line tools do, rather than with an EPIPE stack trace.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
    process.exit(process.exitCode ?? 0);
  });
  buildProgram()
    .parseAsync(argv)
    .catch((err: unknown) => {
      if (err instanceof CommanderError) {
        process.exitCode = err.exitCode; // commander has printed the help, version or usage error
        return;
      }
      process.stderr.write(`benchfleet: ${(err as Error).message}\n`);
      process.exitCode = 1;
    });
}

if (require.main === module) main(); // `tsx cli/main.ts ...`
