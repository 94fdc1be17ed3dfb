// V8's heap policy for the archive build. Its JS heap is small (~20 MB, mostly the SDK) while every
// result passes through Buffers (downloads, gunzip output, kept files, gzip output, upload parts):
// V8 counts Buffer memory allocated since the last full GC against the old generation's limit,
// which it sets only a little above a small heap's live size, so the build ran a full GC every few
// MB of results (272 for 2,000 results of 256 KB, ~15 s of CPU). Letting the heap grow to five
// times its live size before a full GC leaves ~80 MB of garbage at most, whatever the run size.
import { setFlagsFromString } from 'node:v8';

/** V8 flags of the BuildArchive function; the assembly bench's child uses the same. */
export const ARCHIVE_V8_FLAGS = '--heap-growing-percent=400';

let applied = false;

/**
 * Applies ARCHIVE_V8_FLAGS to this process (once). For a process that only builds archives (the
 * BuildArchive Lambda, the bench's child): it changes the whole process's garbage collection.
 * Not a NODE_OPTIONS setting (Node refuses V8 heap flags there), so it is set from code.
 */
export function useArchiveHeapPolicy(): void {
  if (applied) return;
  applied = true;
  setFlagsFromString(ARCHIVE_V8_FLAGS);
}
