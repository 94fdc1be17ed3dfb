// Local write failures that say this host's disk cannot take the task's files: the host's trouble,
// neither the benchmark's nor the upload's, so the task fails as provision_failed (retried, and
// counted toward the host's back-off) with a message that says what is wrong with which path.
import { errorText } from './log';

const DISK_ERRORS: Record<string, string> = {
  ENOSPC: 'the disk is full',
  EDQUOT: 'the disk quota is used up',
  EROFS: 'the disk is read-only',
  EIO: 'the disk has an I/O error',
};

/** A message naming the disk problem and `path` when `err` is one, else undefined. */
export function diskProblem(err: unknown, path: string): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  const what = typeof code === 'string' ? DISK_ERRORS[code] : undefined;
  if (!what) return undefined;
  return `${what}: cannot write ${path} (${errorText(err)}); free space in the runner's --work-dir or move it to a larger disk`;
}
