// Reading a run's task items in bulk: by index (the reaper, the assembly), through the sparse
// `active` index (what the reaper watches), and a page of the run's partition (GET /run/tasks).
// Single-item reads and every write stay in the run store, next to the conditions they serve.
import { setTimeout as sleep } from 'node:timers/promises';
import { BatchGetItemCommand, type DynamoDBClient, QueryCommand } from '@benchfleet/aws-sdk';
import type { TaskRecord } from '../core/ports';
import { ACTIVE_INDEX, keys } from '../shared/table';
import { type Attrs, fromAttrs, itemToTask, toAttrs } from './dynamodb-codec';

/** Strongly consistent reads of the given tasks, 100 keys a batch, unprocessed keys retried. */
export async function readTasks(
  ddb: DynamoDBClient,
  table: string,
  runId: number,
  indices: number[],
): Promise<TaskRecord[]> {
  const found: TaskRecord[] = [];
  for (let i = 0; i < indices.length; i += 100) {
    let pending: Attrs[] = indices.slice(i, i + 100).map((n) => toAttrs(keys.task(runId, n)));
    for (let tries = 0; pending.length > 0; tries++) {
      if (tries > 0) await sleep(50 * 2 ** Math.min(tries, 5));
      const out = await ddb.send(
        new BatchGetItemCommand({
          RequestItems: { [table]: { Keys: pending, ConsistentRead: true } },
        }),
      );
      for (const item of out.Responses?.[table] ?? []) found.push(itemToTask(fromAttrs(item)));
      pending = out.UnprocessedKeys?.[table]?.Keys ?? [];
    }
  }
  return found.sort((a, b) => a.index - b.index);
}

/** Every task of the run still in the sparse `active` index, all pages. */
export async function queryActiveTasks(
  ddb: DynamoDBClient,
  table: string,
  runId: number,
): Promise<TaskRecord[]> {
  const tasks: TaskRecord[] = [];
  let start: Attrs | undefined;
  do {
    const out = await ddb.send(
      new QueryCommand({
        TableName: table,
        IndexName: ACTIVE_INDEX.name,
        KeyConditionExpression: '#p = :p',
        ExpressionAttributeNames: { '#p': ACTIVE_INDEX.pk },
        ExpressionAttributeValues: toAttrs({ ':p': keys.activePartition(runId) }),
        ExclusiveStartKey: start,
      }),
    );
    for (const item of out.Items ?? []) tasks.push(itemToTask(fromAttrs(item)));
    start = out.LastEvaluatedKey;
  } while (start);
  return tasks;
}

/** One page of the run's tasks in index order, after `afterIndex`. */
export async function listTaskPage(
  ddb: DynamoDBClient,
  table: string,
  runId: number,
  limit: number,
  afterIndex: number | undefined,
  consistent: boolean,
): Promise<{ tasks: TaskRecord[]; nextIndex: number | null }> {
  const lo = afterIndex === undefined ? keys.task(runId, 0).sk : keys.task(runId, afterIndex + 1).sk;
  const out = await ddb.send(
    new QueryCommand({
      TableName: table,
      KeyConditionExpression: '#p = :p AND #s BETWEEN :lo AND :hi',
      ExpressionAttributeNames: { '#p': 'pk', '#s': 'sk' },
      ExpressionAttributeValues: toAttrs({
        ':p': keys.runPartition(runId),
        ':lo': lo,
        ':hi': `${keys.taskPrefix}~`,
      }),
      Limit: limit,
      // the assembly lists the tasks right after the last complete: a stale page would leave it out
      ConsistentRead: consistent,
    }),
  );
  const tasks = (out.Items ?? []).map((item) => itemToTask(fromAttrs(item)));
  const last = tasks[tasks.length - 1];
  return { tasks, nextIndex: out.LastEvaluatedKey && last ? last.index : null };
}
