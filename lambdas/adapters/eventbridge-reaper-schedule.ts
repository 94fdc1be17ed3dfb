// ReaperSchedule over an EventBridge rule: enabled while a run is active, so an idle deployment runs nothing.
import { DisableRuleCommand, EnableRuleCommand, type EventBridgeClient } from '@benchfleet/aws-sdk';
import type { ReaperSchedule } from '../core/ports';
import { adaptClient } from './sdk-client';

export class EventBridgeReaperSchedule implements ReaperSchedule {
  private last: boolean | undefined;
  constructor(
    private readonly client: EventBridgeClient,
    private readonly ruleName: string,
  ) {
    adaptClient(client);
  }

  async setEnabled(enabled: boolean): Promise<void> {
    if (this.last === enabled) return; // a warm Lambda already did it
    await this.client.send(
      enabled
        ? new EnableRuleCommand({ Name: this.ruleName })
        : new DisableRuleCommand({ Name: this.ruleName }),
    );
    this.last = enabled;
  }
}
