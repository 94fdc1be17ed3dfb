// Pages of GET /run/tasks are cut by bytes (lambdas/core/task-pages.ts): measured exactly, cut right
// after the last task that fits, and never so small that paging stalls. The largest task the field
// caps allow must fit in a page many times over.
import { fitPage, MAX_PAGE_BYTES, payloadBytes } from '../../../lambdas/core/task-pages';
import {
  CompleteRequest,
  ErrorType,
  FailRequest,
  HeartbeatRequest,
  InstanceTypeName,
  PROVIDERS,
  RunnerId,
  type TaskListResponse,
  TaskStatus,
  type TaskView,
} from '../../../lambdas/shared/contract';

/** The most UTF-16 units a string schema lets through (cut to, or refused past). */
function capOf(schema: { safeParse(v: unknown): { success: boolean; data?: unknown } }): number {
  const huge = schema.safeParse('x'.repeat(100_000));
  if (huge.success) return String(huge.data).length;
  let lo = 0;
  let hi = 100_000;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (schema.safeParse('x'.repeat(mid)).success) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/**
 * Text of `n` units that weighs the most there is: a control character is `\u0001` in JSON (6 bytes)
 * and 7 in the Lambda's answer, where the backslash is escaped again; nothing weighs more.
 */
const heaviest = (n: number): string => '\u0001'.repeat(n);
/** The longest text a JSON number can have. */
const longestNumber = -2.2250738585072014e-308; // 24 characters: 17 digits and the largest exponent
const longestOf = (words: readonly string[]): string => words.reduce((a, b) => (b.length > a.length ? b : a));

/** The largest task a page can hold: every field at its cap, every character the heaviest. */
function largestTask(): TaskView {
  // free text comes from runners through these schemas; the API's own messages (reaper, stop) are
  // a few hundred characters, under these caps
  const text = {
    runner_id: capOf(RunnerId),
    heartbeat_message: capOf(HeartbeatRequest.shape.message),
    current_benchmark: capOf(HeartbeatRequest.shape.current_benchmark),
    error_type: capOf(ErrorType),
    error_message: capOf(FailRequest.shape.error_message),
    instance_type: capOf(InstanceTypeName),
    s3_result_key: capOf(CompleteRequest.shape.s3_result_key),
    s3_error_key: capOf(FailRequest.shape.s3_error_key),
  };
  expect(text).toEqual({
    runner_id: 128,
    heartbeat_message: 1_000,
    current_benchmark: 200,
    error_type: 64,
    error_message: 4_000,
    instance_type: 64,
    s3_result_key: 512,
    s3_error_key: 512,
  });
  const n = longestNumber;
  const time = new Date(8.64e15).toISOString(); // the latest date there is: the longest timestamp
  return {
    id: n,
    run_id: n,
    provider: longestOf(PROVIDERS) as TaskView['provider'],
    instance_type: heaviest(text.instance_type),
    run: n,
    run_number: n,
    status: longestOf(TaskStatus.options) as TaskView['status'],
    attempt: n,
    runner_id: heaviest(text.runner_id),
    claimed_at: time,
    heartbeat_at: time,
    heartbeat_status: 'provision',
    heartbeat_message: heaviest(text.heartbeat_message),
    current_benchmark: heaviest(text.current_benchmark),
    progress_pct: n,
    finished_at: time,
    error_type: heaviest(text.error_type),
    error_message: heaviest(text.error_message),
    s3_result_key: heaviest(text.s3_result_key),
    s3_error_key: heaviest(text.s3_error_key),
    debug_mode: false,
  };
}

const bytesOf = (page: TaskListResponse): number => payloadBytes(JSON.stringify(page));

it('fits the largest task the caps allow in a page, with room for a hundred more', () => {
  const task = largestTask();
  const alone = bytesOf({ run_id: longestNumber, tasks: [task], next_cursor: '999999' });
  expect(alone).toBeLessThan(47 * 1024); // the 46 KB MAX_PAGE_BYTES's comment gives
  expect(alone * 100).toBeLessThan(MAX_PAGE_BYTES); // the dashboard's page of 100 is never cut
  const page = fitPage(1, [{ index: 0, view: task }], null);
  expect(page.tasks).toHaveLength(1);
  expect(bytesOf(page)).toBeLessThanOrEqual(MAX_PAGE_BYTES);
  // and the budget leaves room for the status code and headers under Lambda's 6 MB
  expect(MAX_PAGE_BYTES + 64 * 1024).toBeLessThan(6 * 1024 * 1024);
});

it('measures a body as the Lambda answer carries it: never less than the body itself', () => {
  for (const text of ['plain', 'é€😀', '"\\', '\u0001\n\t', '\ud800']) {
    const json = JSON.stringify({ text });
    const inAnswer = Buffer.byteLength(JSON.stringify({ statusCode: 200, body: json }));
    expect(payloadBytes(json)).toBe(inAnswer - Buffer.byteLength('{"statusCode":200,"body":""}'));
    expect(payloadBytes(json)).toBeGreaterThanOrEqual(Buffer.byteLength(json));
  }
});

describe('a page cut by bytes', () => {
  const runId = 1_760_000_000;
  // tasks of uneven sizes, as free text makes them
  const tasks = Array.from({ length: 60 }, (_, index) => ({
    index,
    view: { ...largestTask(), id: index, error_message: heaviest((index * 37) % 400) },
  }));

  it('holds the most tasks that fit, measured exactly, and its cursor resumes right after them', () => {
    const budget = 60_000;
    const seen: number[] = [];
    let from = 0;
    let pages = 0;
    while (from < tasks.length) {
      const page = fitPage(runId, tasks.slice(from), null, budget);
      pages++;
      expect(bytesOf(page)).toBeLessThanOrEqual(budget);
      seen.push(...page.tasks.map((t) => t.id));
      const end = from + page.tasks.length;
      if (end === tasks.length) {
        expect(page.next_cursor).toBeNull();
        break;
      }
      expect(page.next_cursor).toBe(String(end - 1)); // the index of its last task
      // one more task (with the cursor that page would carry) would not have fit
      const next = tasks[end] as (typeof tasks)[number];
      const longer = {
        ...page,
        tasks: [...page.tasks, next.view],
        next_cursor: end + 1 === tasks.length ? null : String(end),
      };
      expect(bytesOf(longer)).toBeGreaterThan(budget);
      from = Number(page.next_cursor) + 1;
    }
    expect(seen).toEqual(tasks.map((t) => t.index));
    expect(pages).toBeGreaterThan(3);
  });

  it('is left as it was when it fits: the same tasks and the cursor it was given', () => {
    const page = fitPage(runId, tasks.slice(0, 5), '4');
    expect(page).toEqual({ run_id: runId, tasks: tasks.slice(0, 5).map((t) => t.view), next_cursor: '4' });
    expect(Object.keys(page)).toEqual(['run_id', 'tasks', 'next_cursor']);
    expect(fitPage(runId, [], null)).toEqual({ run_id: runId, tasks: [], next_cursor: null });
  });

  it('holds one task even when that one is over the budget, so paging never stalls', () => {
    const page = fitPage(runId, tasks.slice(0, 3), null, 100);
    expect(page.tasks.map((t) => t.id)).toEqual([0]);
    expect(page.next_cursor).toBe('0');
  });
});
