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

/**
 * The room a slot wants on its work dir's disk before it claims: a Docker task's container
 * (ruby-bench's clone and gems) shares that disk with its logs and tarball, about 1 GiB (as the
 * VM disks are sized: lambdas/shared/vm-life.ts); the other workloads write kilobytes.
 */
export const MIN_FREE_BYTES: Record<string, number> = { docker: 1024 ** 3, default: 64 * 1024 ** 2 };

/** How many looks, a back-off apart, a slot waits for room before it ends (15 minutes by default). */
export const LOW_DISK_LOOKS = 15;

/** "512 MB", "3.2 GB": for the lines that say how much room there is. */
export const sizeText = (bytes: number): string =>
  bytes >= 1024 ** 3 ? `${(bytes / 1024 ** 3).toFixed(1)} GB` : `${Math.round(bytes / 1024 ** 2)} MB`;
