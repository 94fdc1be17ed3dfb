// CloudWatch metrics (Powertools, EMF): claims by outcome, completions, failures by error type, and
// the reaper's view of the queue. Built on first use, so the local mode can switch them off
// (POWERTOOLS_METRICS_DISABLED) before any is created; each call publishes at once.
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';

export const METRICS_NAMESPACE = 'Benchfleet';

let metrics: Metrics | undefined;

export function countMetric(name: string, value = 1, dimensions: Record<string, string> = {}): void {
  metrics ??= new Metrics({ namespace: METRICS_NAMESPACE, serviceName: 'benchfleet' });
  const one = metrics.singleMetric();
  for (const [k, v] of Object.entries(dimensions)) one.addDimension(k, v);
  one.addMetric(name, MetricUnit.Count, value);
}
