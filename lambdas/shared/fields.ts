// The limits and the single-field schemas of the HTTP contract (contract.ts builds the bodies from
// them and re-exports this module, so callers import everything from the contract).
import * as z from 'zod';
import './zod-words'; // plain validation messages, for every schema

export const MAX_TASKS_PER_RUN = 10_000;
export const MAX_RUNS_PER_INSTANCE_TYPE = 100;
/** Task ids are `run_id * TASK_ID_FACTOR + n` (n from 1), so they are unique across runs. */
export const TASK_ID_FACTOR = 100_000;
export const MAX_BODY_BYTES = 64 * 1024;
export const MAX_ERROR_MESSAGE = 4_000;
/**
 * Distinct instance types per run. Each adds its queue's counters, retry set and marks to the one
 * run item, under attribute names that hold the type's name, and DynamoDB caps an item at 400 KB;
 * an item that outgrows it mid-run fails every later write (a run that can be neither drained nor
 * stopped). With 64-character names, a full 10,000-task run and the largest config, the item in
 * its fullest state (every task in a status set and a retry set, every queue marked) is 295 KB at
 * 250 types and 869 KB at 1,000 (test/contract/run-item-size.test.ts).
 */
export const MAX_INSTANCE_TYPES_PER_RUN = 250;

export const InstanceTypeName = z
  .string()
  .regex(/^[A-Za-z0-9._-]{1,64}$/, 'must be 1-64 characters of A-Z a-z 0-9 . _ -');
export const RubyVersion = z
  .string()
  .regex(/^(head|\d+\.\d+(\.\d+)?(-[A-Za-z0-9.]+)?)$/, 'must look like 3.4.7, 3.4, 3.5.0-preview1 or head');
/**
 * A non-negative number rounded to `decimals` places: DynamoDB cannot store magnitudes below 1e-130
 * (a 5e-324 would fail the write with a 500), and no caller needs more precision.
 */
export const rounded = (decimals: number) => {
  const f = 10 ** decimals;
  return z.number().transform((v) => Math.round(v * f) / f);
};

// biome-ignore lint/suspicious/noControlCharactersInRegex: terminal colour codes are what it strips
const COLOUR = /\x1b\[[0-9;?]*[ -/]*[@-~]/g;
/** Control characters but tab and line breaks, which stack traces and log lines are made of. */
const CONTROL = /[^\P{Cc}\t\n\r]/gu;

/**
 * A free-text field from a runner, cut to `max` characters rather than refused: losing a whole
 * fail or heartbeat over a long stack trace would cost more than its tail (the body is capped anyway).
 * Colour codes and control characters other than tab and line breaks are dropped, not refused, for
 * the same reason: they carry nothing a reader sees, and most weigh 6 bytes (`\u0007`) in every JSON
 * answer that lists the task (our runner strips them from the log lines it quotes; others may not).
 */
export const clipped = (max: number) =>
  z.string().transform((raw) => {
    const s = raw.replace(COLOUR, '').replace(CONTROL, '');
    if (s.length <= max) return s;
    // not between the two halves of a surrogate pair (an emoji): a lone half is no character
    const end = /[\uD800-\uDBFF]/.test(s.charAt(max - 2)) ? max - 2 : max - 1;
    return `${s.slice(0, end)}…`;
  });

/** An optional field where `null` means the same as leaving it out, as older runners send it. */
export const omittable = <T extends z.ZodType>(schema: T) =>
  schema
    .nullish()
    .transform((v) => v ?? undefined)
    .optional();

const MAX_RUN_ID = Math.floor(Number.MAX_SAFE_INTEGER / TASK_ID_FACTOR) - 1;
export const RunId = z
  .number()
  .int()
  .positive()
  .max(MAX_RUN_ID, {
    error: `must be at most ${MAX_RUN_ID}: task ids are run_id * ${TASK_ID_FACTOR} + n, and must stay safe integers`,
  });
