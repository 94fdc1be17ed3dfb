// Files the local mode keeps in a data dir (keys.json, the lock, local-run.json) are written whole
// or not at all: through a temp file beside the target (the same file system) and a rename, so a
// kill or a full disk mid-write leaves the old file or the new one, never half of one.
import { closeSync, fchmodSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';

/** `mode` (e.g. 0o600 for secrets) is set on the temp file, so the target never has another. */
export function writeFileAtomic(file: string, text: string, mode?: number): void {
  const temp = `${file}.${process.pid}.tmp`;
  try {
    const fd = openSync(temp, 'w', mode);
    try {
      if (mode !== undefined) fchmodSync(fd, mode); // a leftover temp file keeps its mode otherwise
      writeSync(fd, text);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, file);
  } catch (err) {
    rmSync(temp, { force: true });
    throw err;
  }
}
