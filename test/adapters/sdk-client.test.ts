// Every adapter's client: unavailability reported as TransientError, no SDK logger middleware.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { DynamoRunStore } from '../../lambdas/adapters/dynamodb-run-store';
import { S3ResultStore } from '../../lambdas/adapters/s3-result-store';

const names = (c: { middlewareStack: { identify(): string[] } }): string[] =>
  c.middlewareStack.identify().map((m) => m.split(' ')[0] as string);

it.each([
  [
    'DynamoDB',
    () => new DynamoDBClient({ region: 'us-east-1' }),
    (c: DynamoDBClient) => new DynamoRunStore(c, 't'),
  ],
  ['S3', () => new S3Client({ region: 'us-east-1' }), (c: S3Client) => new S3ResultStore(c, 'b')],
] as const)('%s adapter drops the SDK logger middleware and reports unavailability', (_, make, adapt) => {
  const client = make();
  expect(names(client)).toContain('loggerMiddleware'); // the SDK's default, which we remove
  // biome-ignore lint/suspicious/noExplicitAny: the pairs above match
  adapt(client as any);
  expect(names(client)).not.toContain('loggerMiddleware');
  expect(names(client)).toContain('benchfleetReportUnavailable');
});
