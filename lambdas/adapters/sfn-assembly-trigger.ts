// AssemblyTrigger over Step Functions. The execution is named after the run (`<run_id>`, then
// `<run_id>-<n>` for a re-assembly), so Step Functions itself rejects a duplicated start: belt and
// braces with the core's conditional status change.
import { ExecutionAlreadyExists, type SFNClient, StartExecutionCommand } from '@benchfleet/aws-sdk';
import type { AssemblyTrigger } from '../core/ports';
import { adaptClient } from './sdk-client';

export class SfnAssemblyTrigger implements AssemblyTrigger {
  constructor(
    private readonly client: SFNClient,
    private readonly stateMachineArn: string,
  ) {
    // Throttling and 5xx after the SDK's own retries: the caller (or the reaper) tries again.
    adaptClient(client);
  }

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
      throw err;
    }
  }
}
