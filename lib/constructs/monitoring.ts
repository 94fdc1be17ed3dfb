// Alarms on what an operator must hear about (API 5xx, a failing reaper, a failed assembly) and one
// CloudWatch dashboard: API traffic, function errors, workflow outcomes and the Powertools metrics
// the handlers emit in the Benchfleet namespace.
import { Duration } from 'aws-cdk-lib';
import type * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { METRICS_NAMESPACE } from '../../lambdas/shared/metrics';
import type { NodeFunction } from './node-function';

export interface MonitoringProps {
  readonly api: apigwv2.HttpApi;
  readonly reaper: NodeFunction;
  readonly stateMachine: sfn.StateMachine;
  readonly functions: readonly NodeFunction[];
  /** Subscribed to the alarm topic when given. */
  readonly alarmEmail?: string;
}

const FIVE_MINUTES = Duration.minutes(5);

export class Monitoring extends Construct {
  readonly topic: sns.Topic;
  readonly alarms: {
    apiServerErrors: cloudwatch.Alarm;
    reaperErrors: cloudwatch.Alarm;
    assemblyFailures: cloudwatch.Alarm;
  };

  constructor(scope: Construct, id: string, props: MonitoringProps) {
    super(scope, id);
    this.topic = new sns.Topic(this, 'AlarmTopic', { displayName: 'Benchfleet alarms', enforceSSL: true });
    if (props.alarmEmail) this.topic.addSubscription(new subscriptions.EmailSubscription(props.alarmEmail));

    const alarm = (name: string, metric: cloudwatch.IMetric, description: string): cloudwatch.Alarm => {
      const a = new cloudwatch.Alarm(this, name, {
        alarmDescription: description,
        metric,
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        // idle deployments send no data: that is healthy, not unknown
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      a.addAlarmAction(new actions.SnsAction(this.topic));
      return a;
    };
    this.alarms = {
      // Handlers map every expected error to a 4xx; a 5xx is a bug or an AWS outage.
      apiServerErrors: alarm(
        'ApiServerErrors',
        props.api.metricServerError({ period: FIVE_MINUTES, statistic: 'Sum' }),
        'The Benchfleet API answered 5xx',
      ),
      reaperErrors: alarm(
        'ReaperErrors',
        props.reaper.metricErrors({ period: FIVE_MINUTES, statistic: 'Sum' }),
        'The reaper failed: dead runners are not being detected',
      ),
      assemblyFailures: alarm(
        'AssemblyFailures',
        new cloudwatch.MathExpression({
          expression: 'failed + timedOut + aborted',
          usingMetrics: {
            failed: props.stateMachine.metricFailed({ period: FIVE_MINUTES, statistic: 'Sum' }),
            timedOut: props.stateMachine.metricTimedOut({ period: FIVE_MINUTES, statistic: 'Sum' }),
            aborted: props.stateMachine.metricAborted({ period: FIVE_MINUTES, statistic: 'Sum' }),
          },
          period: FIVE_MINUTES,
        }),
        'An assembly execution failed: the run ended assembly_failed (POST /run/assemble retries it)',
      ),
    };

    const dashboard = new cloudwatch.Dashboard(this, 'Dashboard', { defaultInterval: Duration.hours(6) });
    dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'API requests and errors',
        left: [props.api.metricCount({ statistic: 'Sum' })],
        right: [
          props.api.metricClientError({ statistic: 'Sum' }),
          props.api.metricServerError({ statistic: 'Sum' }),
        ],
      }),
      new cloudwatch.GraphWidget({
        title: 'API latency p99',
        left: [props.api.metricLatency({ statistic: 'p99' })],
      }),
      new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms: Object.values(this.alarms) }),
    );
    dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Function errors',
        left: props.functions.map((f) => f.metricErrors({ statistic: 'Sum', label: f.handlerName })),
        width: 12,
      }),
      new cloudwatch.GraphWidget({
        title: 'Assembly executions',
        left: [
          props.stateMachine.metricSucceeded({ statistic: 'Sum' }),
          props.stateMachine.metricFailed({ statistic: 'Sum' }),
          props.stateMachine.metricTimedOut({ statistic: 'Sum' }),
        ],
        width: 12,
      }),
    );
    // The handlers' Powertools metrics (lambdas/shared/metrics.ts); `service` is Powertools' default dimension.
    const own = (name: string, statistic: string): cloudwatch.Metric =>
      new cloudwatch.Metric({
        namespace: METRICS_NAMESPACE,
        metricName: name,
        dimensionsMap: { service: 'benchfleet' },
        statistic,
        period: Duration.minutes(1),
      });
    const byDimension = (name: string, dimension: string, label: string): cloudwatch.MathExpression =>
      new cloudwatch.MathExpression({
        expression: `SEARCH('{${METRICS_NAMESPACE},${dimension},service} MetricName="${name}"', 'Sum', 300)`,
        label,
      });
    dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Queue depth and running tasks (reaper, every minute)',
        left: [own('QueueDepth', 'Maximum'), own('RunningTasks', 'Maximum')],
        width: 8,
      }),
      new cloudwatch.GraphWidget({
        title: 'Claims by outcome',
        left: [byDimension('Claims', 'outcome', 'claims')],
        width: 8,
      }),
      new cloudwatch.GraphWidget({
        title: 'Completions, failures by error_type, reaper actions',
        left: [own('Completions', 'Sum'), byDimension('Failures', 'error_type', 'failures')],
        right: [own('HeartbeatTimeouts', 'Sum'), own('Requeued', 'Sum'), own('Repairs', 'Sum')],
        width: 8,
      }),
    );
  }
}
