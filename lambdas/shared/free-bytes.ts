// How much room a disk has, for the checks that stop before a write would fill it: the runner's
// before each claim (runner/agent.ts), the CLI's before each archive entry it unpacks.
import { statfsSync } from 'node:fs';

/**
 * Bytes free to this process on the disk of `path`; undefined when the disk does not say (statfs
 * fails, or a file system that counts no blocks): the write itself will tell.
 */
export function freeBytes(path: string): number | undefined {
  try {
    const fs = statfsSync(path);
    return fs.blocks === 0 ? undefined : fs.bavail * fs.bsize;
  } catch {
    return undefined;
  }
}
