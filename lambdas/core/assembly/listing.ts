// The task listing that ListTasks writes and BuildArchive reads: one JSON object per line in S3,
// so a state passes only its key (10,000 tasks would not fit in a 256 KB state) and neither step
// holds the list in memory.

import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import * as z from 'zod';
import { TaskView } from '../../shared/contract';
import { AssemblyError } from '../errors';
import type { ResultStore, TaskRecord } from '../ports';

/** What assembly needs of a task: the manifest fields and where its tarballs are. */
export const ListedTask = TaskView.pick({
  id: true,
  provider: true,
  instance_type: true,
  run: true,
  status: true,
  attempt: true,
  runner_id: true,
  claimed_at: true,
  finished_at: true,
  error_type: true,
  error_message: true,
  s3_result_key: true,
  s3_error_key: true,
}).extend({ index: z.number().int() });
export type ListedTask = z.infer<typeof ListedTask>;

export function toListed(t: TaskRecord): ListedTask {
  return {
    id: t.id,
    index: t.index,
    provider: t.provider,
    instance_type: t.instance_type,
    run: t.run,
    status: t.status,
    attempt: t.attempt,
    runner_id: t.runner_id,
    claimed_at: t.claimed_at,
    finished_at: t.finished_at,
    error_type: t.error_type,
    error_message: t.error_message,
    s3_result_key: t.s3_result_key,
    s3_error_key: t.s3_error_key,
  };
}

/** Streams pages of tasks into `key` as JSON lines; returns how many were written. */
export async function writeListing(
  results: ResultStore,
  key: string,
  pages: AsyncIterable<TaskRecord[]>,
): Promise<number> {
  let count = 0;
  async function* lines(): AsyncGenerator<string> {
    for await (const page of pages) {
      // One string per page: few, mid-sized chunks instead of 10,000 tiny ones.
      if (page.length === 0) continue;
      count += page.length;
      yield `${page.map((t) => JSON.stringify(toListed(t))).join('\n')}\n`;
    }
  }
  await results.putStream(key, Readable.from(lines()), 'application/x-ndjson');
  return count;
}

/** Reads the listing back one task at a time. A missing or malformed listing is an AssemblyError. */
export async function* readListing(results: ResultStore, key: string): AsyncGenerator<ListedTask> {
  const stream = await results.getStream(key);
  if (!stream) throw new AssemblyError(`the task listing ${key} is missing`);
  const rl = createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY });
  let line = 0;
  try {
    for await (const text of rl) {
      line += 1;
      if (text.trim() === '') continue;
      let parsed: ReturnType<typeof ListedTask.safeParse>;
      try {
        parsed = ListedTask.safeParse(JSON.parse(text));
      } catch {
        throw new AssemblyError(`the task listing ${key} has malformed JSON at line ${line}`);
      }
      if (!parsed.success) throw new AssemblyError(`the task listing ${key} has a bad task at line ${line}`);
      yield parsed.data;
    }
  } finally {
    rl.close();
    stream.destroy();
  }
}
