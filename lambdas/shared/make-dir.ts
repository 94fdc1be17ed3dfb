// `mkdir -p` for the folders a person names (--data-dir, --results-dir, a site's or a download's
// folder, the runner's --work-dir). Node's own `mkdir(path, { recursive: true })` spins at 100% CPU
// for good, deaf to SIGTERM, where a parent exists but refuses new entries with ENOENT, as /proc and
// /sys do: it makes the parent (EEXIST), tries the folder again (ENOENT), and so on. Here each level
// is made once, so such a path fails at once, saying which folder refused.
import { mkdirSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

const codeOf = (err: unknown): string | undefined => (err as NodeJS.ErrnoException).code;

/** Makes `path` and its missing parents; an existing folder is fine, an existing file is EEXIST. */
export function makeDir(path: string, mode?: number): void {
  const target = resolve(path);
  try {
    mkdirSync(target, { mode });
    return;
  } catch (err) {
    if (codeOf(err) === 'EEXIST' && isDir(target)) return;
    const parent = dirname(target);
    if (codeOf(err) !== 'ENOENT' || parent === target) throw err;
    makeDir(parent, mode);
  }
  // the parent exists now: an ENOENT from here on is that parent refusing the new folder
  try {
    mkdirSync(target, { mode });
  } catch (err) {
    if (codeOf(err) === 'EEXIST' && isDir(target)) return; // made meanwhile by someone else
    if (codeOf(err) !== 'ENOENT') throw err;
    throw Object.assign(new Error(`${dirname(target)} refuses new folders (mkdir ${target}: ENOENT)`), {
      code: 'ENOENT',
    });
  }
}

function isDir(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}
