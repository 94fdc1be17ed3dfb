// A task's stdout.log and stderr.log. A write that fails (a full disk, an I/O error) must not become
// an uncaught 'error' event: that would kill the whole runner, every slot with it, and leave a
// Docker container running on its CPU. The failure is logged once per file, further writes to
// that file are dropped, and the task goes on (its results, if they can be written, still count).
// Each file is capped (LOG_CAP_BYTES): a benchmark that floods its output must not fill the disk,
// nor make a tarball too large to upload and lose a finished result. The first half of the cap is
// written as it comes; the last half is held back, in memory, and written at close after a line
// saying how much was cut.
import { createWriteStream, type WriteStream } from 'node:fs';
import { open as openFile } from 'node:fs/promises';
import { join } from 'node:path';
import { finished } from 'node:stream/promises';
import type { Logger } from '../log';

/** What each of stdout.log and stderr.log keeps at most: its first and last 8 MiB. */
export const LOG_CAP_BYTES = 16 * 1024 * 1024;

export interface LogFiles {
  out(chunk: Buffer | string): void;
  err(chunk: Buffer | string): void;
  /** What went wrong writing the logs, if anything (one line per file). */
  readonly problems: string[];
  /** Flushes and closes both files; never rejects. Once closed, `problems` holds every write error. */
  close(): Promise<void>;
}

export function openLogFiles(logsDir: string, log: Logger, capBytes = LOG_CAP_BYTES): LogFiles {
  const problems: string[] = [];
  const open = (name: string): { write(chunk: Buffer | string): void; close(): Promise<void> } => {
    const path = join(logsDir, name);
    let failed = false;
    const stream: WriteStream = createWriteStream(path);
    stream.on('error', (e) => {
      if (failed) return;
      failed = true;
      const problem = `cannot write ${path}: ${e.message}`;
      problems.push(problem);
      log.warn(`${problem}; the task goes on without the rest of ${name} (free disk space on this host)`);
    });
    const headCap = Math.floor(capBytes / 2);
    const tailCap = capBytes - headCap;
    let headLen = 0;
    let total = 0;
    const tail: Buffer[] = [];
    let tailLen = 0;
    return {
      write: (chunk) => {
        if (failed) return;
        const b = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
        total += b.length;
        const head = b.subarray(0, headCap - headLen);
        if (head.length > 0) {
          stream.write(head);
          headLen += head.length;
        }
        if (head.length === b.length) return;
        // a copy: the chunk may be a view of a larger pooled buffer
        const rest = Buffer.from(b.subarray(head.length));
        tail.push(rest);
        tailLen += rest.length;
        while (tail.length > 1 && tailLen - (tail[0]?.length ?? 0) >= tailCap)
          tailLen -= tail.shift()?.length ?? 0;
      },
      close: async () => {
        if (!failed && tailLen > 0) {
          const kept = Buffer.concat(tail).subarray(Math.max(0, tailLen - tailCap));
          const cut = total - headLen - kept.length;
          if (cut > 0) {
            stream.write(
              `\n[benchfleet: ${cut} bytes of ${name} cut here; it keeps the first ${headLen} and the last ${kept.length} of ${total} bytes]\n`,
            );
          }
          stream.write(kept);
        }
        tail.length = 0;
        if (!stream.destroyed) stream.end();
        await finished(stream).catch(() => undefined);
      },
    };
  };
  const stdout = open('stdout.log');
  const stderr = open('stderr.log');
  let closing: Promise<void> | undefined;
  return {
    out: stdout.write,
    err: stderr.write,
    problems,
    // once: an executor may close early to read `problems`, and again in its finally
    close: () => (closing ??= Promise.all([stdout.close(), stderr.close()]).then(() => undefined)),
  };
}

/** How much of stderr.log's end is read for its last line: a crash's last line is well under it. */
const TAIL_BYTES = 8192;
// biome-ignore lint/suspicious/noControlCharactersInRegex: terminal colour codes are what it strips
const COLOUR = /\x1b\[[0-9;?]*[ -/]*[@-~]/g;
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it strips
const CONTROL = /[\x00-\x1f\x7f]/g;

/**
 * The last non-empty line of a task's stderr.log, trimmed, without control characters (colours)
 * and cut to `max` characters: what a crash said last, for the task's one-line error message.
 * Undefined when the file is missing, unreadable or has no such line.
 */
export async function lastStderrLine(logsDir: string, max = 200): Promise<string | undefined> {
  let text: string;
  try {
    const f = await openFile(join(logsDir, 'stderr.log'), 'r');
    try {
      const { size } = await f.stat();
      const start = Math.max(0, size - TAIL_BYTES);
      const buf = Buffer.alloc(size - start);
      const { bytesRead } = await f.read(buf, 0, buf.length, start);
      text = buf.subarray(0, bytesRead).toString('utf8');
    } finally {
      await f.close();
    }
  } catch {
    return undefined;
  }
  const line = printableLines(text).at(-1);
  return line === undefined ? undefined : clip(line, max);
}

/** The non-empty lines of a process's output, trimmed, without control characters (colours). */
export const printableLines = (text: string): string[] =>
  text
    .split(/\r?\n|\r/)
    .map((l) => l.replace(COLOUR, '').replace(CONTROL, ' ').trim())
    .filter((l) => l !== '');

/** A line cut to `max` characters, with an ellipsis when cut. */
export const clip = (line: string, max: number): string =>
  line.length > max ? `${line.slice(0, max - 1)}…` : line;
