// ReaperSchedule over an EventBridge rule: enabled while a run is active, so an idle deployment runs nothing.
// No cache of the last setting: five Lambdas (start, reap, assemble, finalize, mark-failed) switch the one
// rule, so a warm container's memory of what it last set says nothing about the rule now. Both calls
// are idempotent and made once per run transition.
import { DisableRuleCommand, EnableRuleCommand, type EventBridgeClient } from '@benchfleet/aws-sdk';
import type { ReaperSchedule } from '../core/ports';
import { adaptClient } from './sdk-client';

export class EventBridgeReaperSchedule implements ReaperSchedule {
  constructor(
    private readonly client: EventBridgeClient,
    private readonly ruleName: string,
  ) {
    adaptClient(client);
  }

  async setEnabled(enabled: boolean): Promise<void> {
    await this.client.send(
      enabled
        ? new EnableRuleCommand({ Name: this.ruleName })
        : new DisableRuleCommand({ Name: this.ruleName }),
    );
  }
}
