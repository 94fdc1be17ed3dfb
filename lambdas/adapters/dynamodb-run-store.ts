// RunStore over DynamoDB. Every state change is one conditional single-item write (dynalite has no
// transactions, and on real DynamoDB a transaction costs twice and conflicts with every write to the
// same item); a failed condition becomes StaleStateError or `undefined` right here, so no SDK error
// type reaches the core.
import {
  DeleteItemCommand,
  type DynamoDBClient,
  type DynamoDBClientConfig,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
} from '@benchfleet/aws-sdk';
import { StaleStateError } from '../core/errors';
import type {
  Fence,
  FinishFields,
  HeartbeatFields,
  IdleMark,
  Pointer,
  QueueDef,
  RunRecord,
  RunSetChange,
  RunStore,
  StoredRunStatus,
  TaskRecord,
} from '../core/ports';
import { parseQueueKey } from '../core/ports';
import type { TaskStatus } from '../shared/contract';
import { ACTIVE_INDEX, keys, queueAttrs, SET_ATTRS } from '../shared/table';
import {
  ATTEMPT_FIELDS,
  Expr,
  fromAttrs,
  type Item,
  itemToRun,
  itemToTask,
  runSetsExpr,
  runToItem,
  toAttrs,
} from './dynamodb-codec';
import { listTaskPage, queryActiveTasks, readTasks } from './dynamodb-task-reads';
import { isConditionFailure, writeMissingTasks, writeTaskBatches } from './dynamodb-task-writes';
import { adaptClient } from './sdk-client';

/**
 * The store's client settings, for Lambda and the local mode alike. cacheMiddleware resolves each
 * command's middleware once per client instead of on every call: about 1 ms of CPU per call. It is
 * safe because the store sends plain client commands and adds no middleware to a single command.
 * (lib-dynamodb's DocumentClient cannot use it: its cached handler re-sends the first command.)
 */
export function dynamoClientConfig(extra: DynamoDBClientConfig = {}): DynamoDBClientConfig {
  return { cacheMiddleware: true, ...extra };
}

export class DynamoRunStore implements RunStore {
  constructor(
    private readonly ddb: DynamoDBClient,
    private readonly table: string,
  ) {
    adaptClient(ddb);
  }

  /** Runs a conditional update; `undefined` when the condition failed. */
  private async update(
    key: Record<string, unknown>,
    e: Expr,
    returnValues = 'ALL_NEW',
  ): Promise<Item | undefined> {
    const { ExpressionAttributeValues: values, ...params } = e.params();
    try {
      const out = await this.ddb.send(
        new UpdateItemCommand({
          TableName: this.table,
          Key: toAttrs(key),
          ...params,
          ...(values ? { ExpressionAttributeValues: toAttrs(values) } : {}),
          ReturnValues: returnValues as 'ALL_NEW',
        }),
      );
      return out.Attributes ? fromAttrs(out.Attributes) : {};
    } catch (err) {
      if (isConditionFailure(err)) return undefined;
      throw err;
    }
  }

  async getPointer(): Promise<Pointer | undefined> {
    const item = await this.getItem(keys.pointer());
    if (!item) return undefined;
    return { run_id: Number(item.run_id), active: item.active === true };
  }

  async acquirePointer(runId: number): Promise<void> {
    const e = new Expr().set('run_id', runId).set('active', true);
    e.when(
      `attribute_not_exists(${e.name('pk')}) OR (${e.name('run_id')} < ${e.value(runId)} AND ${e.name('active')} = ${e.value(false)})`,
    );
    if (!(await this.update(keys.pointer(), e, 'NONE'))) {
      throw new StaleStateError(`run ${runId} cannot become current: another run is active or newer`);
    }
  }

  async releasePointer(runId: number): Promise<void> {
    await this.update(keys.pointer(), new Expr().set('active', false).whenEq('run_id', runId), 'NONE');
  }

  async createRun(run: RunRecord): Promise<void> {
    try {
      await this.ddb.send(
        new PutItemCommand({
          TableName: this.table,
          Item: toAttrs(runToItem(run)),
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
    } catch (err) {
      if (isConditionFailure(err)) throw new StaleStateError(`run ${run.run_id} already exists`);
      throw err;
    }
  }

  async deleteRun(runId: number): Promise<void> {
    await this.ddb.send(new DeleteItemCommand({ TableName: this.table, Key: toAttrs(keys.run(runId)) }));
  }

  async getRun(runId: number): Promise<RunRecord | undefined> {
    const item = await this.getItem(keys.run(runId));
    return item ? itemToRun(item) : undefined;
  }

  /** A strongly consistent read of one item. */
  private async getItem(key: Item): Promise<Item | undefined> {
    const out = await this.ddb.send(
      new GetItemCommand({ TableName: this.table, Key: toAttrs(key), ConsistentRead: true }),
    );
    return out.Item ? fromAttrs(out.Item) : undefined;
  }

  putTasks = (tasks: TaskRecord[]): Promise<void> => writeTaskBatches(this.ddb, this.table, tasks);
  putMissingTasks = (tasks: TaskRecord[]): Promise<void> => writeMissingTasks(this.ddb, this.table, tasks);

  async setRunStatus(
    runId: number,
    from: StoredRunStatus[],
    to: StoredRunStatus,
    fields: Parameters<RunStore['setRunStatus']>[3] = {},
    opts: Parameters<RunStore['setRunStatus']>[4] = {},
  ): Promise<RunRecord> {
    const e = new Expr().set('status', to).whenIn('status', from);
    if (opts.notStopped) {
      e.when(`attribute_not_exists(${e.name('stopped')}) OR ${e.name('stopped')} = ${e.value(false)}`);
    }
    for (const [k, v] of Object.entries(fields)) e.set(k, v);
    const out = await this.update(keys.run(runId), e);
    if (!out) {
      throw new StaleStateError(
        `run ${runId} is not ${from.join(' or ')}${opts.notStopped ? ' (or was stopped)' : ''}`,
      );
    }
    return itemToRun(out);
  }

  async setExecutionStarted(runId: number, attempt: number): Promise<void> {
    await this.update(
      keys.run(runId),
      new Expr().set('execution_started', true).whenEq('assembly_attempt', attempt),
      'NONE',
    );
  }

  async markNoRunner(runId: number, q: QueueDef, from = q.base): Promise<void> {
    const a = queueAttrs(q.provider, q.instance_type);
    const end = q.base + q.count;
    const indices = Array.from({ length: end - from }, (_, i) => from + i);
    const e = new Expr()
      .set(a.noRunner, true)
      .set(a.verified, end)
      .add(SET_ATTRS.failed, new Set(indices))
      .whenEq('status', 'running')
      .whenEq(a.next, from);
    if (from > q.base) e.whenEq(a.idleNext, from);
    e.setRaw(`${e.name(a.next)} = ${e.name(a.end)}`);
    if (!(await this.update(keys.run(runId), e, 'NONE'))) {
      throw new StaleStateError(`queue ${q.instance_type} of run ${runId} was claimed from or the run ended`);
    }
  }

  async markIdle(runId: number, q: QueueDef, next: number, at: string): Promise<boolean> {
    const a = queueAttrs(q.provider, q.instance_type);
    const e = new Expr()
      .set(a.idleNext, next)
      .set(a.idleAt, at)
      .whenEq('status', 'running')
      .whenEq(a.next, next);
    return (await this.update(keys.run(runId), e, 'NONE')) !== undefined;
  }

  async takeTicket(runId: number, queue: string): Promise<number | undefined> {
    const q = parseQueueKey(queue);
    const a = queueAttrs(q.provider, q.instance_type);
    const e = new Expr().add(a.next, 1).whenEq('status', 'running');
    e.when(`${e.name(a.next)} < ${e.name(a.end)}`);
    const out = await this.update(keys.run(runId), e, 'UPDATED_NEW');
    return out ? Number(out[a.next]) - 1 : undefined;
  }

  async takeRetry(runId: number, queue: string, entry: number, by?: 'claim' | IdleMark): Promise<boolean> {
    const q = parseQueueKey(queue);
    const a = queueAttrs(q.provider, q.instance_type);
    const e = new Expr().delete(a.retry, new Set([entry])).whenEq('status', 'running');
    if (by === 'claim') e.remove(a.idleNext, a.idleAt); // a runner is alive: the queue is not abandoned
    if (typeof by === 'object') e.whenEq(a.idleNext, by.next).whenEq(a.idleAt, by.at); // the reaper's mark
    e.when(`contains(${e.name(a.retry)}, ${e.value(entry)})`);
    return (await this.update(keys.run(runId), e, 'NONE')) !== undefined;
  }

  async advanceVerified(runId: number, queue: string, from: number, to: number): Promise<void> {
    const q = parseQueueKey(queue);
    const a = queueAttrs(q.provider, q.instance_type);
    await this.update(keys.run(runId), new Expr().set(a.verified, to).whenEq(a.verified, from), 'NONE');
  }

  async applyRunSets(runId: number, change: RunSetChange): Promise<RunRecord> {
    const e = runSetsExpr(change);
    const out = e ? await this.update(keys.run(runId), e) : await this.getItem(keys.run(runId));
    if (!out) throw new StaleStateError(`run ${runId} does not exist`);
    return itemToRun(out);
  }

  async getTask(runId: number, index: number): Promise<TaskRecord | undefined> {
    const item = await this.getItem(keys.task(runId, index));
    return item ? itemToTask(item) : undefined;
  }

  getTasks = (runId: number, indices: number[]): Promise<TaskRecord[]> =>
    readTasks(this.ddb, this.table, runId, indices);
  queryActive = (runId: number): Promise<TaskRecord[]> => queryActiveTasks(this.ddb, this.table, runId);
  listTasks = (
    runId: number,
    limit: number,
    afterIndex?: number,
    consistent = true,
  ): Promise<{ tasks: TaskRecord[]; nextIndex: number | null }> =>
    listTaskPage(this.ddb, this.table, runId, limit, afterIndex, consistent);

  async claimTask(
    runId: number,
    index: number,
    gen: number,
    runnerId: string,
    now: string,
  ): Promise<TaskRecord | undefined> {
    const e = new Expr()
      .set('status', 'claimed')
      .set('runner_id', runnerId)
      .set('claimed_at', now)
      .set('heartbeat_at', now)
      .set(ACTIVE_INDEX.pk, keys.activePartition(runId))
      .set(ACTIVE_INDEX.sk, index)
      .add('attempt', 1)
      .remove(...ATTEMPT_FIELDS)
      .whenEq('status', 'pending')
      .whenEq('gen', gen);
    const out = await this.update(keys.task(runId, index), e);
    return out ? itemToTask(out) : undefined;
  }

  private fence(e: Expr, fence: Fence | null): void {
    if (!fence) return;
    e.whenEq('runner_id', fence.runner_id);
    if (fence.attempt !== undefined) e.whenEq('attempt', fence.attempt);
  }

  async heartbeat(
    runId: number,
    index: number,
    fence: Fence,
    fields: HeartbeatFields,
    running: boolean,
  ): Promise<{ promoted: boolean } | undefined> {
    const e = new Expr().whenIn('status', ['claimed', 'running']);
    for (const [k, v] of Object.entries(fields)) e.set(k, v);
    if (running) e.set('status', 'running');
    this.fence(e, fence);
    // UPDATED_OLD returns the status as it was: one write tells whether this beat promoted the task
    const old = await this.update(keys.task(runId, index), e, 'UPDATED_OLD');
    return old ? { promoted: running && old.status === 'claimed' } : undefined;
  }

  async finishTask(
    runId: number,
    index: number,
    fence: Fence | null,
    fields: FinishFields,
    opts: { from?: TaskStatus[]; heartbeatAt?: string | null; gen?: number } = {},
  ): Promise<TaskRecord | undefined> {
    const e = new Expr()
      .set(ACTIVE_INDEX.pk, keys.activePartition(runId))
      .set(ACTIVE_INDEX.sk, index)
      .whenIn('status', opts.from ?? ['claimed', 'running']);
    for (const [k, v] of Object.entries(fields)) e.set(k, v);
    this.fence(e, fence);
    if (opts.heartbeatAt !== undefined) e.whenEq('heartbeat_at', opts.heartbeatAt);
    if (opts.gen !== undefined) e.whenEq('gen', opts.gen);
    const out = await this.update(keys.task(runId, index), e);
    return out ? itemToTask(out) : undefined;
  }

  async requeueTask(
    runId: number,
    index: number,
    expect: Parameters<RunStore['requeueTask']>[2],
    fields: Parameters<RunStore['requeueTask']>[3],
  ): Promise<TaskRecord | undefined> {
    const e = new Expr()
      .set('status', 'pending')
      .set('runner_id', null)
      .set('requeued_at', fields.requeued_at)
      // undefined keeps what is there (Expr.set skips it): the reaper's repair of a half-done requeue
      // must not erase who asked for it (the runner's repeat is known by it) nor the attempt's error
      .set('requeued_by', fields.requeued_by)
      .set('last_error_type', fields.error_type)
      .set('last_error_message', fields.error_message)
      .set(ACTIVE_INDEX.pk, keys.activePartition(runId))
      .set(ACTIVE_INDEX.sk, index)
      .add('gen', 1)
      // pending: no attempt under way, so none of the dead one's claim, heartbeat or progress shows
      .remove('claimed_at', 'heartbeat_at', ...ATTEMPT_FIELDS)
      .whenIn('status', expect.status)
      .whenEq('gen', expect.gen);
    if (fields.refund) e.add('attempt', -1).add('refunds', 1);
    this.fence(e, expect.fence ?? null);
    if (expect.heartbeatAt !== undefined) e.whenEq('heartbeat_at', expect.heartbeatAt);
    const out = await this.update(keys.task(runId, index), e);
    return out ? itemToTask(out) : undefined;
  }

  async clearActive(runId: number, index: number, expectStatus: TaskStatus): Promise<void> {
    await this.update(
      keys.task(runId, index),
      new Expr().remove(ACTIVE_INDEX.pk, ACTIVE_INDEX.sk).whenEq('status', expectStatus),
      'NONE',
    );
  }
}
