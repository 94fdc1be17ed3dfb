// Validation messages in plain words for every schema of Benchfleet (the API's 400s, the CLI's run
// config errors): "must be at least 1", not zod's "Too small: expected number to be >=1". Set once
// for the process when the contract's field schemas load; a schema's own message still wins.
import * as z from 'zod';

type Issue = z.core.$ZodRawIssue;

/** How an input looks, for "got ...": the value when it is short, its kind otherwise. */
export function shown(input: unknown): string {
  if (input === null) return 'null';
  if (Array.isArray(input)) return 'a list';
  if (typeof input === 'number') return Number.isNaN(input) ? 'NaN' : String(input);
  if (typeof input === 'string') return input.length <= 40 ? JSON.stringify(input) : 'a long string';
  if (typeof input === 'object') return 'an object';
  return typeof input;
}

const KINDS: Record<string, string> = {
  number: 'a number',
  int: 'a whole number',
  string: 'a string',
  boolean: 'true or false',
  array: 'a list',
  object: 'an object',
  record: 'an object',
  nan: 'NaN',
};

const noun = (origin: unknown, n: number): string =>
  origin === 'string'
    ? ` character${n === 1 ? '' : 's'}`
    : origin === 'array' || origin === 'set'
      ? ` item${n === 1 ? '' : 's'}`
      : '';

function bound(kind: 'least' | 'most', origin: unknown, limit: unknown, inclusive: unknown): string {
  const n = Number(limit);
  if (origin === 'string' || origin === 'array' || origin === 'set') {
    if (kind === 'least' && n === 1) return 'must not be empty';
    return `must have at ${kind} ${n}${noun(origin, n)}`;
  }
  if (origin === 'int' && kind === 'most') return 'must be a safe integer (at most 2^53 - 1)';
  if (inclusive === false) return kind === 'least' ? `must be above ${n}` : `must be below ${n}`;
  return `must be at ${kind} ${n}`;
}

/** The plain message of one issue, or undefined to keep zod's. */
export function plainMessage(issue: Issue): string | undefined {
  switch (issue.code) {
    case 'invalid_type': {
      const kind = KINDS[String(issue.expected)] ?? String(issue.expected);
      return issue.input === undefined
        ? 'required field is missing'
        : `must be ${kind}, got ${shown(issue.input)}`;
    }
    case 'too_small':
      return bound('least', issue.origin, issue.minimum, issue.inclusive);
    case 'too_big':
      return bound('most', issue.origin, issue.maximum, issue.inclusive);
    case 'invalid_value':
      return issue.values.length === 1
        ? `must be ${JSON.stringify(issue.values[0])}`
        : `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'not_multiple_of':
      return `must be a multiple of ${String(issue.divisor)}`;
    default:
      return undefined;
  }
}

z.config({ customError: plainMessage });

/**
 * One message per field: a value can fail several checks of one field (1e300 is no safe integer
 * and above the field's maximum); the first one that applies is the clearest, except that of two
 * maxima (or minima) the tighter one is what the caller must meet.
 */
export function onePerField(issues: readonly z.core.$ZodIssue[]): z.core.$ZodIssue[] {
  const kept = new Map<string, z.core.$ZodIssue>();
  for (const issue of issues) {
    const key = JSON.stringify(issue.path.map(String));
    const had = kept.get(key);
    if (!had || issue.code === 'unrecognized_keys') {
      kept.set(issue.code === 'unrecognized_keys' ? `${key}#keys` : key, issue);
      continue;
    }
    if (had.code === 'too_big' && issue.code === 'too_big' && Number(issue.maximum) < Number(had.maximum))
      kept.set(key, issue);
    if (had.code === 'too_small' && issue.code === 'too_small' && Number(issue.minimum) > Number(had.minimum))
      kept.set(key, issue);
  }
  return [...kept.values()];
}
