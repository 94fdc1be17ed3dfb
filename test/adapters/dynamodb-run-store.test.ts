// Error paths of the DynamoDB adapter that dynalite cannot produce on demand.
import {
  ConditionalCheckFailedException,
  DynamoDBClient,
  ProvisionedThroughputExceededException,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { DynamoRunStore } from '../../lambdas/adapters/dynamodb-run-store';
import { StaleStateError } from '../../lambdas/core/errors';

const client = new DynamoDBClient({ region: 'us-east-1' });
const ddb = mockClient(client);
const store = new DynamoRunStore(client, 'benchfleet');
beforeEach(() => ddb.reset());

it('maps a failed condition on a status change to StaleStateError', async () => {
  ddb.on(UpdateItemCommand).rejects(new ConditionalCheckFailedException({ message: 'x', $metadata: {} }));
  await expect(store.setRunStatus(7, ['running'], 'assembling')).rejects.toBeInstanceOf(StaleStateError);
  expect(ddb).toHaveReceivedCommandWith(UpdateItemCommand, {
    TableName: 'benchfleet',
    Key: { pk: { S: 'RUN#7' }, sk: { S: 'RUN' } },
  });
});

it('answers no ticket when the queue is exhausted (a failed condition), without throwing', async () => {
  ddb.on(UpdateItemCommand).rejects(new ConditionalCheckFailedException({ message: 'x', $metadata: {} }));
  await expect(store.takeTicket(7, 'aws:c7g.medium')).resolves.toBeUndefined();
});

it('lets throttling reach the caller instead of mistaking it for a lost race', async () => {
  ddb
    .on(UpdateItemCommand)
    .rejects(new ProvisionedThroughputExceededException({ message: 'slow down', $metadata: {} }));
  await expect(store.takeTicket(7, 'aws:c7g.medium')).rejects.toBeInstanceOf(
    ProvisionedThroughputExceededException,
  );
});

it('keeps instance type names out of the expression grammar', async () => {
  ddb.on(UpdateItemCommand).resolves({ Attributes: { 'q_next:aws:c7g.medium': { N: '3' } } });
  await expect(store.takeTicket(7, 'aws:c7g.medium')).resolves.toBe(2);
  const call = ddb.commandCalls(UpdateItemCommand)[0]?.args[0].input;
  expect(call?.UpdateExpression).not.toContain('c7g');
  expect(Object.values(call?.ExpressionAttributeNames ?? {})).toContain('q_next:aws:c7g.medium');
});
