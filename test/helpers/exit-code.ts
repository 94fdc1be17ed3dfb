// The exit code one in-process CLI command set, not whatever set process.exitCode meanwhile.
// Tests run commands in the jest worker itself, and process.exitCode is one value per process: a
// command still finishing from an earlier test file of the same worker could set it in the middle of
// another test's command, which then "exited 1" with nothing wrong in its own output. Each command
// runs in its own async context here, so its code (and, in runCli, its output) is told apart; a
// set from outside every command is reported with its stack.
import { AsyncLocalStorage } from 'node:async_hooks';
import { writeSync } from 'node:fs';

interface Own {
  code: number | undefined;
}

// one per worker, shared by every test file's copy of this module (each has its own registry)
const KEY = Symbol.for('benchfleet.test.exitCode');
type Shared = { commands: AsyncLocalStorage<Own> };
const g = globalThis as unknown as Record<symbol, Shared | undefined>;

function shared(): Shared {
  const found = g[KEY];
  if (found) return found;
  const commands = new AsyncLocalStorage<Own>();
  const native = Object.getOwnPropertyDescriptor(process, 'exitCode');
  let plain: unknown; // where the value lives if process.exitCode is a plain property
  const read = (): unknown => (native?.get ? native.get.call(process) : plain);
  const write = (v: unknown): void => {
    if (native?.set) native.set.call(process, v);
    else plain = v;
  };
  Object.defineProperty(process, 'exitCode', {
    configurable: true,
    enumerable: native?.enumerable ?? true,
    get: read,
    set: (v: unknown) => {
      const own = commands.getStore();
      if (own) own.code = v === undefined || v === null ? undefined : Number(v);
      else if (v !== undefined && v !== null && Number(v) !== 0)
        // straight to fd 2: a test may be capturing process.stderr right now
        writeSync(
          2,
          `\nprocess.exitCode = ${String(v)} set outside any test command:\n${new Error().stack}\n`,
        );
      write(v);
    },
  });
  const made = { commands };
  g[KEY] = made;
  return made;
}

export interface CommandScope {
  /** Runs `fn` (one CLI command) in this scope and answers the exit code it set: 0 when none. */
  run(fn: () => Promise<unknown>): Promise<number>;
  /** Whether the code running now is this scope's command (and not a stray one). */
  current(): boolean;
}

export function commandScope(): CommandScope {
  const own: Own = { code: undefined };
  const { commands } = shared();
  return {
    run: async (fn) => {
      await commands.run(own, fn);
      return own.code ?? 0;
    },
    current: () => commands.getStore() === own,
  };
}
