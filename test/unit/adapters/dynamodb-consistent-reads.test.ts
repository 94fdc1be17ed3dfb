// Reads of the base table that decide what a run's archive holds must be strongly consistent: the
// assembly lists the tasks right after the last complete, and an eventually consistent page could
// still show that task running and leave its result out. (The sparse `active` index is a GSI, which
// DynamoDB cannot read consistently; the reaper tolerates its lag.)
import { DynamoDBClient, QueryCommand } from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { DynamoRunStore } from '../../../lambdas/adapters/dynamodb-run-store';

const client = new DynamoDBClient({ region: 'us-east-1' });
const ddb = mockClient(client);
const store = new DynamoRunStore(client, 'benchfleet');
beforeEach(() => ddb.reset());

it("lists a run's tasks with a strongly consistent query of the base table", async () => {
  ddb.on(QueryCommand).resolves({ Items: [] });
  await store.listTasks(7, 500);
  await store.listTasks(7, 500, 499);
  expect(ddb).toHaveReceivedCommandTimes(QueryCommand, 2);
  for (const call of ddb.commandCalls(QueryCommand)) {
    expect(call.args[0].input).toMatchObject({ TableName: 'benchfleet', ConsistentRead: true });
    expect(call.args[0].input.IndexName).toBeUndefined();
  }
});

it('lists eventually consistently when asked, as the live GET /run/tasks does', async () => {
  ddb.on(QueryCommand).resolves({ Items: [] });
  await store.listTasks(7, 500, undefined, false);
  expect(ddb.commandCalls(QueryCommand)[0]?.args[0].input).toMatchObject({ ConsistentRead: false });
});

it('queries the active index without ConsistentRead, which a GSI refuses', async () => {
  ddb.on(QueryCommand).resolves({ Items: [] });
  await store.queryActive(7);
  const input = ddb.commandCalls(QueryCommand)[0]?.args[0].input;
  expect(input).toMatchObject({ IndexName: 'active' });
  expect(input?.ConsistentRead).not.toBe(true);
});
