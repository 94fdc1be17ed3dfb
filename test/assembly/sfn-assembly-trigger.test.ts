// The Step Functions trigger: one StartExecution per start, named after the run. Throttling and
// 5xx go through the real client's middleware: test/adapters/unavailable.test.ts.
import {
  ExecutionAlreadyExists,
  SFNClient,
  SFNServiceException,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { SfnAssemblyTrigger } from '../../lambdas/adapters/sfn-assembly-trigger';

const ARN = 'arn:aws:states:us-east-1:123456789012:stateMachine:benchfleet-assembly';
const sfn = mockClient(SFNClient);
const trigger = new SfnAssemblyTrigger(new SFNClient({}), ARN);
beforeEach(() => sfn.reset());

describe('SfnAssemblyTrigger', () => {
  it('starts an execution named after the run with {"run_id": N} as input', async () => {
    sfn.on(StartExecutionCommand).resolves({ executionArn: `${ARN}:1763940000`, startDate: new Date() });
    await expect(trigger.start(1_763_940_000, '1763940000')).resolves.toBe('started');
    expect(sfn).toHaveReceivedCommandTimes(StartExecutionCommand, 1);
    expect(sfn).toHaveReceivedCommandWith(StartExecutionCommand, {
      stateMachineArn: ARN,
      name: '1763940000',
      input: '{"run_id":1763940000}',
    });
  });

  it('answers already_started when the execution name was used before', async () => {
    sfn.on(StartExecutionCommand).rejects(new ExecutionAlreadyExists({ message: 'exists', $metadata: {} }));
    await expect(trigger.start(1_763_940_000, '1763940000-2')).resolves.toBe('already_started');
  });

  it('lets other errors through with their own name', async () => {
    sfn.on(StartExecutionCommand).rejects(
      new SFNServiceException({
        name: 'StateMachineDoesNotExist',
        $fault: 'client',
        message: 'no',
        $metadata: { httpStatusCode: 400 },
      }),
    );
    await expect(trigger.start(1, '1')).rejects.toMatchObject({ name: 'StateMachineDoesNotExist' });
  });
});
