// Writing a run's task items. A new run has one writer, its start, which writes them in batches; a
// run whose start died is finished by the reaper, and two reaper passes (EventBridge delivers at
// least once) or a late batch may meet there, so that path only ever creates what is missing.
import { setTimeout as sleep } from 'node:timers/promises';
import {
  BatchWriteItemCommand,
  ConditionalCheckFailedException,
  type DynamoDBClient,
  PutItemCommand,
} from '@benchfleet/aws-sdk';
import { eachLimited } from '../core/each-limited';
import type { TaskRecord } from '../core/ports';
import { taskToItem, toAttrs } from './dynamodb-codec';

/** A conditional write whose condition did not hold (the SDK's class, or its name across bundles). */
export const isConditionFailure = (err: unknown): boolean =>
  err instanceof ConditionalCheckFailedException ||
  (err as { name?: string }).name === 'ConditionalCheckFailedException';

/** BatchWriteItem in chunks of 25, unprocessed items retried: overwrites whatever is there. */
export async function writeTaskBatches(
  ddb: DynamoDBClient,
  table: string,
  tasks: TaskRecord[],
): Promise<void> {
  const chunks: TaskRecord[][] = [];
  for (let i = 0; i < tasks.length; i += 25) chunks.push(tasks.slice(i, i + 25));
  // a few batches in flight: fast on DynamoDB, and gentle with dynalite's single event loop
  const lanes = Array.from({ length: 4 }, async (_, lane) => {
    for (let c = lane; c < chunks.length; c += 4) {
      let requests = (chunks[c] ?? []).map((t) => ({ PutRequest: { Item: toAttrs(taskToItem(t)) } }));
      for (let tries = 0; requests.length > 0; tries++) {
        if (tries > 8)
          throw new Error(`could not write ${requests.length} task items: DynamoDB kept them unprocessed`);
        if (tries > 0) await sleep(50 * 2 ** tries);
        const out = await ddb.send(new BatchWriteItemCommand({ RequestItems: { [table]: requests } }));
        requests = (out.UnprocessedItems?.[table] ?? []) as typeof requests;
      }
    }
  });
  await Promise.all(lanes);
}

/** One conditional put per task, 8 at a time: an item that exists (maybe claimed, done) is left alone. */
export async function writeMissingTasks(
  ddb: DynamoDBClient,
  table: string,
  tasks: TaskRecord[],
): Promise<void> {
  await eachLimited(tasks, 8, async (t) => {
    try {
      await ddb.send(
        new PutItemCommand({
          TableName: table,
          Item: toAttrs(taskToItem(t)),
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
    } catch (err) {
      if (!isConditionFailure(err)) throw err;
    }
  });
}
