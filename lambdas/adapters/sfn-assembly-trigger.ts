// AssemblyTrigger over Step Functions. The execution is named after the run (`<run_id>`, then
// `<run_id>-<n>` for a re-assembly), so Step Functions itself rejects a duplicated start: belt and
// braces with the core's conditional status change.
import { ExecutionAlreadyExists, type SFNClient, StartExecutionCommand } from '@benchfleet/aws-sdk';
import { TransientError } from '../core/errors';
import type { AssemblyTrigger } from '../core/ports';

export class SfnAssemblyTrigger implements AssemblyTrigger {
  constructor(
    private readonly client: SFNClient,
    private readonly stateMachineArn: string,
  ) {}

  async start(runId: number, executionName: string): Promise<'started' | 'already_started'> {
    try {
      await this.client.send(
        new StartExecutionCommand({
          stateMachineArn: this.stateMachineArn,
          name: executionName,
          input: JSON.stringify({ run_id: runId }),
        }),
      );
      return 'started';
    } catch (err) {
      if (
        err instanceof ExecutionAlreadyExists ||
        (err as { name?: string }).name === 'ExecutionAlreadyExists'
      ) {
        return 'already_started';
      }
      // Throttling and 5xx after the SDK's own retries: the caller (or the reaper) tries again.
      const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode ?? 0;
      const name = (err as { name?: string }).name ?? '';
      if (status >= 500 || status === 429 || /Throttl/.test(name)) {
        throw new TransientError(`StartExecution ${executionName} failed: ${name}`, { cause: err });
      }
      throw err;
    }
  }
}
