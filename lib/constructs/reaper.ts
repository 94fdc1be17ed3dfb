// The reaper's schedule: every minute. The API enables the rule when a run starts and the run's
// end disables it (lambdas/adapters/eventbridge-reaper-schedule.ts), so an idle deployment invokes
// nothing. The template says ENABLED: CloudFormation applies that state whenever a deploy updates
// the rule, and a deploy during a run (`deploy --force`) that set it DISABLED would leave the run
// with no reaper, its dead runners' tasks never failed. Enabled, the first pass that finds no run
// at work switches it off: a deploy costs at most one idle pass.
import { Duration } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import { Construct } from 'constructs';
import type { NodeFunction } from './node-function';

export const REAPER_RATE = Duration.minutes(1);

export interface ReaperProps {
  readonly fn: NodeFunction;
  /** A fixed name: the functions that switch the rule get it as REAPER_RULE_NAME before it exists. */
  readonly ruleName: string;
}

export class Reaper extends Construct {
  readonly rule: events.Rule;

  constructor(scope: Construct, id: string, props: ReaperProps) {
    super(scope, id);
    // Lambda retries a failed or timed-out async invocation twice by itself, which would run a
    // pass beside the next scheduled one: passes must never overlap, and the next one makes up.
    props.fn.configureAsyncInvoke({ retryAttempts: 0, maxEventAge: Duration.minutes(1) });
    this.rule = new events.Rule(this, 'Schedule', {
      ruleName: props.ruleName,
      description: 'Benchfleet reaper: on only while a run is active',
      schedule: events.Schedule.rate(REAPER_RATE),
      enabled: true,
      // A missed pass is made up by the next one a minute later: no retries, no stale events.
      targets: [new targets.LambdaFunction(props.fn, { retryAttempts: 0, maxEventAge: Duration.minutes(1) })],
    });
  }
}
