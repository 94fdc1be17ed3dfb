// Item <-> record mapping for the DynamoDB run store, items to and from DynamoDB's attribute-value
// form, and a small builder for update expressions (names and values are always placeholders, so
// instance type names never touch the grammar).
import { type AttributeValue, marshall, unmarshall } from '@benchfleet/aws-sdk';
import {
  parseQueueKey,
  type QueueDef,
  queueKey,
  type RunRecord,
  type RunSetChange,
  type RunSetName,
  type TaskRecord,
} from '../core/ports';
import { ACTIVE_INDEX, keys, queueAttrs, SET_ATTRS } from '../shared/table';

export type Item = Record<string, unknown>;
export type Attrs = Record<string, AttributeValue>;

/** Items to and from DynamoDB's form: undefined fields are left out, numbers come back as numbers. */
export const toAttrs = (item: Item): Attrs =>
  marshall(item, { removeUndefinedValues: true, convertEmptyValues: false });
export const fromAttrs = (attrs: Attrs): Item => unmarshall(attrs);

/** Per-attempt fields cleared when a task is claimed again. */
export const ATTEMPT_FIELDS = [
  'heartbeat_status',
  'heartbeat_message',
  'current_benchmark',
  'progress_pct',
  'finished_at',
  'error_type',
  'error_message',
  's3_result_key',
  's3_error_key',
];

const numSet = (v: unknown): Set<number> => (v instanceof Set ? new Set([...v].map(Number)) : new Set());
const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);
const num = (v: unknown): number | null => (typeof v === 'number' ? v : null);

export function runToItem(run: RunRecord): Item {
  const item: Item = {
    ...keys.run(run.run_id),
    run_id: run.run_id,
    status: run.status,
    config: run.config,
    ruby_version: run.ruby_version,
    runs_per_instance_type: run.runs_per_instance_type,
    max_attempts: run.max_attempts,
    pending_timeout_minutes: run.pending_timeout_minutes,
    total: run.total,
    queues: run.queues,
    created_at: run.created_at,
    finished_at: run.finished_at,
    stopped: run.stopped,
    archive_key: run.archive_key,
    assembly_error: run.assembly_error,
    assembly_started_at: run.assembly_started_at,
    assembly_attempt: run.assembly_attempt,
    execution_started: run.execution_started,
  };
  for (const q of run.queues) {
    const a = queueAttrs(q.provider, q.instance_type);
    const k = queueKey(q);
    item[a.next] = run.next[k] ?? q.base;
    item[a.end] = q.base + q.count;
    item[a.verified] = run.verified[k] ?? q.base;
  }
  return item;
}

export function itemToRun(item: Item): RunRecord {
  const queues = (item.queues as QueueDef[]).map((q) => ({
    ...q,
    base: Number(q.base),
    count: Number(q.count),
  }));
  const run: RunRecord = {
    run_id: Number(item.run_id),
    status: item.status as RunRecord['status'],
    config: item.config as RunRecord['config'],
    ruby_version: String(item.ruby_version),
    runs_per_instance_type: Number(item.runs_per_instance_type),
    max_attempts: Number(item.max_attempts),
    pending_timeout_minutes: Number(item.pending_timeout_minutes),
    total: Number(item.total),
    queues,
    created_at: String(item.created_at),
    finished_at: str(item.finished_at),
    stopped: item.stopped === true,
    next: {},
    verified: {},
    retry: {},
    no_runner: {},
    idle: {},
    running: numSet(item[SET_ATTRS.running]),
    completed: numSet(item[SET_ATTRS.completed]),
    failed: numSet(item[SET_ATTRS.failed]),
    cancelled: numSet(item[SET_ATTRS.cancelled]),
    archive_key: str(item.archive_key),
    assembly_error: str(item.assembly_error),
    assembly_started_at: str(item.assembly_started_at),
    assembly_attempt: num(item.assembly_attempt) ?? 0,
    execution_started: item.execution_started === true,
  };
  for (const q of queues) {
    const a = queueAttrs(q.provider, q.instance_type);
    const k = queueKey(q);
    run.next[k] = num(item[a.next]) ?? q.base;
    run.verified[k] = num(item[a.verified]) ?? q.base;
    run.retry[k] = [...numSet(item[a.retry])].sort((x, y) => x - y);
    run.no_runner[k] = item[a.noRunner] === true;
    const idleNext = num(item[a.idleNext]);
    const idleAt = str(item[a.idleAt]);
    if (idleNext != null && idleAt !== null) run.idle[k] = { next: idleNext, at: idleAt };
  }
  return run;
}

export function taskToItem(t: TaskRecord): Item {
  const item: Item = { ...keys.task(t.run_id, t.index), ...t };
  delete item.active;
  if (t.active) {
    item[ACTIVE_INDEX.pk] = keys.activePartition(t.run_id);
    item[ACTIVE_INDEX.sk] = t.index;
  }
  return item;
}

export function itemToTask(item: Item): TaskRecord {
  return {
    run_id: Number(item.run_id),
    index: Number(item.index),
    id: Number(item.id),
    provider: item.provider as TaskRecord['provider'],
    instance_type: String(item.instance_type),
    run: Number(item.run),
    status: item.status as TaskRecord['status'],
    attempt: Number(item.attempt ?? 0),
    max_attempts: Number(item.max_attempts ?? 1),
    gen: Number(item.gen ?? 0),
    runner_id: str(item.runner_id),
    claimed_at: str(item.claimed_at),
    heartbeat_at: str(item.heartbeat_at),
    heartbeat_status: str(item.heartbeat_status) as TaskRecord['heartbeat_status'],
    heartbeat_message: str(item.heartbeat_message),
    current_benchmark: str(item.current_benchmark),
    progress_pct: num(item.progress_pct),
    finished_at: str(item.finished_at),
    error_type: str(item.error_type),
    error_message: str(item.error_message),
    s3_result_key: str(item.s3_result_key),
    s3_error_key: str(item.s3_error_key),
    requeued_at: str(item.requeued_at),
    requeued_by: str(item.requeued_by),
    refunds: Number(item.refunds ?? 0),
    debug_mode: item.debug_mode === true,
    active: item[ACTIVE_INDEX.pk] !== undefined,
  };
}

/** Collects SET/REMOVE/ADD/DELETE clauses and a condition with generated placeholders. */
export class Expr {
  readonly names: Record<string, string> = {};
  readonly values: Record<string, unknown> = {};
  private readonly sets: string[] = [];
  private readonly removes: string[] = [];
  private readonly adds: string[] = [];
  private readonly deletes: string[] = [];
  private readonly conds: string[] = [];
  private n = 0;

  name(attr: string): string {
    const existing = Object.entries(this.names).find(([, v]) => v === attr);
    if (existing) return existing[0];
    const p = `#n${this.n++}`;
    this.names[p] = attr;
    return p;
  }
  value(v: unknown): string {
    const p = `:v${this.n++}`;
    this.values[p] = v;
    return p;
  }
  set(attr: string, v: unknown): this {
    if (v === undefined) return this;
    this.sets.push(`${this.name(attr)} = ${this.value(v)}`);
    return this;
  }
  setRaw(clause: string): this {
    this.sets.push(clause);
    return this;
  }
  remove(...attrs: string[]): this {
    for (const a of attrs) this.removes.push(this.name(a));
    return this;
  }
  add(attr: string, v: unknown): this {
    this.adds.push(`${this.name(attr)} ${this.value(v)}`);
    return this;
  }
  delete(attr: string, v: unknown): this {
    this.deletes.push(`${this.name(attr)} ${this.value(v)}`);
    return this;
  }
  when(cond: string): this {
    this.conds.push(cond);
    return this;
  }
  /** `attr IN (...)` over plain values */
  whenIn(attr: string, vs: readonly unknown[]): this {
    return this.when(`${this.name(attr)} IN (${vs.map((v) => this.value(v)).join(', ')})`);
  }
  whenEq(attr: string, v: unknown): this {
    return this.when(`${this.name(attr)} = ${this.value(v)}`);
  }
  update(): string {
    const parts: string[] = [];
    if (this.sets.length) parts.push(`SET ${this.sets.join(', ')}`);
    if (this.removes.length) parts.push(`REMOVE ${this.removes.join(', ')}`);
    if (this.adds.length) parts.push(`ADD ${this.adds.join(', ')}`);
    if (this.deletes.length) parts.push(`DELETE ${this.deletes.join(', ')}`);
    return parts.join(' ');
  }
  condition(): string | undefined {
    return this.conds.length ? this.conds.map((c) => `(${c})`).join(' AND ') : undefined;
  }
  params(): {
    UpdateExpression: string;
    ConditionExpression?: string;
    ExpressionAttributeNames: Record<string, string>;
    ExpressionAttributeValues?: Record<string, unknown>;
  } {
    const cond = this.condition();
    return {
      UpdateExpression: this.update(),
      ...(cond ? { ConditionExpression: cond } : {}),
      ExpressionAttributeNames: this.names,
      ...(Object.keys(this.values).length ? { ExpressionAttributeValues: this.values } : {}),
    };
  }
}

/**
 * The write of a change to the run's index sets (and retry entries), on condition that the run
 * exists; undefined when the change is empty. One ADD or DELETE per attribute: a write may not name
 * the same path twice.
 */
export function runSetsExpr(change: RunSetChange): Expr | undefined {
  const ops = new Map<string, { op: 'add' | 'delete'; attr: string; values: number[] }>();
  const put = (op: 'add' | 'delete', attr: string, values: number[] | undefined): void => {
    if (!values?.length) return;
    const k = `${op} ${attr}`;
    ops.set(k, { op, attr, values: [...(ops.get(k)?.values ?? []), ...values] });
  };
  const retryAttr = (queue: string): string => {
    const q = parseQueueKey(queue);
    return queueAttrs(q.provider, q.instance_type).retry;
  };
  for (const [set, idx] of Object.entries(change.add ?? {})) put('add', SET_ATTRS[set as RunSetName], idx);
  for (const [set, idx] of Object.entries(change.remove ?? {}))
    put('delete', SET_ATTRS[set as RunSetName], idx);
  for (const r of change.addRetry ?? []) put('add', retryAttr(r.queue), [r.entry]);
  for (const r of change.removeRetry ?? []) put('delete', retryAttr(r.queue), [r.entry]);
  if (ops.size === 0) return undefined;
  const e = new Expr();
  e.when(`attribute_exists(${e.name('pk')})`);
  for (const { op, attr, values } of ops.values()) e[op](attr, new Set(values));
  return e;
}
