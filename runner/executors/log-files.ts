// A task's stdout.log and stderr.log. A write that fails (a full disk, an I/O error) must not become
// an uncaught 'error' event: that would kill the whole runner, every slot with it, and leave a
// Docker container running on its CPU. The failure is logged once per file, further writes to
// that file are dropped, and the task goes on (its results, if they can be written, still count).
import { createWriteStream, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { finished } from 'node:stream/promises';
import type { Logger } from '../log';

export interface LogFiles {
  out(chunk: Buffer | string): void;
  err(chunk: Buffer | string): void;
  /** What went wrong writing the logs, if anything (one line per file). */
  readonly problems: string[];
  /** Flushes and closes both files; never rejects. */
  close(): Promise<void>;
}

export function openLogFiles(logsDir: string, log: Logger): LogFiles {
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
    return {
      write: (chunk) => {
        if (!failed) stream.write(chunk);
      },
      close: async () => {
        if (!stream.destroyed) stream.end();
        await finished(stream).catch(() => undefined);
      },
    };
  };
  const stdout = open('stdout.log');
  const stderr = open('stderr.log');
  return {
    out: stdout.write,
    err: stderr.write,
    problems,
    close: async () => {
      await Promise.all([stdout.close(), stderr.close()]);
    },
  };
}
