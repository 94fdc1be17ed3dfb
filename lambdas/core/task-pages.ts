// Pages of GET /run/tasks cut by size as well as by count: a Lambda's response payload is capped at
// 6 MB, and past it API Gateway answers the client a 5xx. A task's free text can weigh 7 bytes a
// character there (a control character is `\u0001` in the body, and the body travels as a JSON
// string, which escapes its backslash again), so a page of the largest tasks outgrew the cap near
// 180 of them, well under the 1,000 a page may ask for.
import type { TaskListResponse, TaskView } from '../shared/contract';

/**
 * The most a page may weigh, in bytes, as `payloadBytes` counts it. Lambda refuses a synchronous
 * response over 6 MB (6,291,456 bytes), status code and headers included; 5 MiB leaves them most of
 * a megabyte, and still holds 100 of the largest tasks possible, 46 KB each at their field caps
 * (test/unit/core/task-pages.test.ts).
 */
export const MAX_PAGE_BYTES = 5 * 1024 * 1024;

/**
 * The bytes a JSON body takes in the Lambda's response, where it is the value of `body`, a JSON
 * string: UTF-8, every `"` and `\` escaped once more. Never less than the body's own UTF-8 length,
 * so a page under the budget here is under it as the client receives it too.
 */
export function payloadBytes(json: string): number {
  return Buffer.byteLength(JSON.stringify(json), 'utf8') - 2;
}

/**
 * The longest first part of `tasks` (in index order) whose page fits in `budget`, measured exactly:
 * the envelope, the cursor it will carry, the commas. Cut short, the page's `next_cursor` is the
 * index of its last task, so the next page starts right after it; whole, it is `nextCursor`. A
 * page always holds at least one task, so paging always moves on.
 */
export function fitPage(
  runId: number,
  tasks: ReadonlyArray<{ index: number; view: TaskView }>,
  nextCursor: string | null,
  budget = MAX_PAGE_BYTES,
): TaskListResponse {
  // the same key order as the page returned below, so the sizes add up to its JSON exactly
  const page = (n: number, cursor: string | null): TaskListResponse => ({
    run_id: runId,
    tasks: tasks.slice(0, n).map((t) => t.view),
    next_cursor: cursor,
  });
  const cursorAfter = (n: number): string | null =>
    n === tasks.length ? nextCursor : String(tasks[n - 1]?.index);
  let items = 0; // the tasks' bytes so far, with the commas between them
  for (let n = 1; n <= tasks.length; n++) {
    const task = tasks[n - 1] as { view: TaskView };
    items += payloadBytes(JSON.stringify(task.view)) + (n > 1 ? 1 : 0);
    const total = payloadBytes(JSON.stringify(page(0, cursorAfter(n)))) + items;
    if (n > 1 && total > budget) return page(n - 1, cursorAfter(n - 1));
  }
  return page(tasks.length, nextCursor);
}
