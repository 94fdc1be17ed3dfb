// "The service did not answer" as every adapter reports it: through the real SDK clients and their
// middleware stacks (no aws-sdk-client-mock, which replaces `send` and would skip the middleware),
// with a closed port for a refused connection and a stand-in request handler for the answers a
// local stand-in cannot give (throttling, a 500).
import { Readable } from 'node:stream';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { S3Client } from '@aws-sdk/client-s3';
import { SFNClient } from '@aws-sdk/client-sfn';
import { DynamoRunStore, dynamoClientConfig } from '../../lambdas/adapters/dynamodb-run-store';
import { EventBridgeReaperSchedule } from '../../lambdas/adapters/eventbridge-reaper-schedule';
import { S3ResultStore, s3ClientConfig } from '../../lambdas/adapters/s3-result-store';
import { SfnAssemblyTrigger } from '../../lambdas/adapters/sfn-assembly-trigger';
import { isUnavailable } from '../../lambdas/adapters/unavailable';
import { StaleStateError, TransientError } from '../../lambdas/core/errors';
import { errorReply } from '../../lambdas/shared/http';

const base = {
  region: 'us-east-1',
  credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  maxAttempts: 1,
};
/** A request handler that answers every call with this status and JSON error body. */
const answering = (statusCode: number, type: string, contentType = 'application/x-amz-json-1.0') => {
  let calls = 0;
  return {
    get calls() {
      return calls;
    },
    handle: async () => {
      calls++;
      return {
        response: {
          statusCode,
          headers: { 'content-type': contentType },
          body: Readable.from([Buffer.from(JSON.stringify({ __type: type, message: `stand-in ${type}` }))]),
        },
      };
    },
  };
};
const refused = { ...base, endpoint: 'http://127.0.0.1:1' };

describe('adapters report an unavailable service as TransientError, answered 503', () => {
  it('S3 refusing connections: exists() names the service and the call', async () => {
    const store = new S3ResultStore(new S3Client(s3ClientConfig({ ...refused, forcePathStyle: true })), 'b');
    const err = await store.exists('runs/1/tasks/2/result.tar.gz').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TransientError);
    expect((err as Error).message).toMatch(/^S3 did not answer HeadObject \(ECONNREFUSED: .*\); retry$/);
    const reply = errorReply(err);
    expect(reply.statusCode).toBe(503);
    expect(JSON.parse(reply.body)).toEqual({ error: 'unavailable', message: (err as Error).message });
  });

  it('DynamoDB throttling or a 500, after the SDK retries: TransientError', async () => {
    for (const [status, type] of [
      [400, 'com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException'],
      [400, 'com.amazonaws.dynamodb.v20120810#ThrottlingException'],
      [500, 'com.amazonaws.dynamodb.v20120810#InternalServerError'],
    ] as const) {
      const ddb = new DynamoDBClient(
        dynamoClientConfig({ ...base, requestHandler: answering(status, type) }),
      );
      const err = await new DynamoRunStore(ddb, 't').getRun(1).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(TransientError);
      expect((err as Error).message).toMatch(
        new RegExp(`^DynamoDB did not answer GetItem \\(${type.split('#')[1]}: `),
      );
    }
  });

  it('lets a service answer that is not about availability through as the SDK raised it', async () => {
    const ddb = new DynamoDBClient(
      dynamoClientConfig({
        ...base,
        requestHandler: answering(400, 'com.amazonaws.dynamodb.v20120810#ResourceNotFoundException'),
      }),
    );
    const err = await new DynamoRunStore(ddb, 't').getRun(1).catch((e: unknown) => e);
    expect(err).not.toBeInstanceOf(TransientError);
    expect(err).toMatchObject({ name: 'ResourceNotFoundException' });
  });

  it('Step Functions and EventBridge throttling: TransientError; a used execution name still answers', async () => {
    const throttled = new SfnAssemblyTrigger(
      new SFNClient({ ...base, requestHandler: answering(400, 'ThrottlingException') }),
      'arn:aws:states:us-east-1:123456789012:stateMachine:x',
    );
    await expect(throttled.start(1, '1')).rejects.toBeInstanceOf(TransientError);
    const used = new SfnAssemblyTrigger(
      new SFNClient({ ...base, requestHandler: answering(400, 'ExecutionAlreadyExists') }),
      'arn:aws:states:us-east-1:123456789012:stateMachine:x',
    );
    await expect(used.start(1, '1')).resolves.toBe('already_started');
    const schedule = new EventBridgeReaperSchedule(
      new EventBridgeClient({
        ...base,
        requestHandler: answering(400, 'ThrottlingException', 'application/x-amz-json-1.1'),
      }),
      'rule',
    );
    await expect(schedule.setEnabled(true)).rejects.toBeInstanceOf(TransientError);
  });

  it('classifies by status, network code and error name, and never wraps twice', () => {
    expect(isUnavailable({ $metadata: { httpStatusCode: 503 } })).toBe(true);
    expect(isUnavailable({ $metadata: { httpStatusCode: 429 } })).toBe(true);
    expect(isUnavailable({ code: 'ECONNRESET' })).toBe(true);
    expect(isUnavailable(new Error('AWS SDK error wrapper for Error: read ECONNRESET'))).toBe(true);
    expect(isUnavailable(new Error('AWS SDK error wrapper for Error: EISDIR'))).toBe(false);
    expect(isUnavailable({ name: 'TimeoutError' })).toBe(true);
    expect(isUnavailable({ name: 'SlowDown', $metadata: { httpStatusCode: 400 } })).toBe(true);
    expect(
      isUnavailable({ name: 'ConditionalCheckFailedException', $metadata: { httpStatusCode: 400 } }),
    ).toBe(false);
    expect(isUnavailable({ name: 'NotFound', $metadata: { httpStatusCode: 404 } })).toBe(false);
    expect(isUnavailable(new TransientError('already ours'))).toBe(false);
    expect(isUnavailable('a string')).toBe(false);
  });
});

describe('an error no route expects', () => {
  it("is a 500 that shows no internals, one of the core's own classes included", () => {
    for (const err of [
      new StaleStateError('conditional write on run 7 lost: ConditionalCheckFailedException'),
      new Error('boom at /var/task/index.js:1'),
    ]) {
      const reply = errorReply(err, 'req-1');
      expect(reply.statusCode).toBe(500);
      expect(JSON.parse(reply.body)).toEqual({
        error: 'internal',
        message: 'internal error (request req-1): see the API logs',
      });
    }
  });
});
