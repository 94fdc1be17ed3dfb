// `npm run perf -- cost`: the AWS bill of the orchestration (not the benchmark VMs) for the spec's
// example run, 33 tasks of one hour with 30 s heartbeats, and for a month of the same deployment
// idle, from the counts of the e2e bench (perf/e2e.bench.ts) at the prices of perf/aws-prices.ts.
// Scaling: the e2e run's per-task counts (claims, upload URLs, completes, DynamoDB units, S3
// requests) x 33; plus 120 heartbeats per task-hour and 60 reaper passes per run-hour (the
// EventBridge rate), each at the marginal cost measured for one; plus the CLI polling GET /run
// every 5 s; the assembly workflow once. Lambda duration = the local latency of each call (an
// upper bound of the handler time: it includes HTTP and a loaded machine), at the functions'
// memory (512 MB; BuildArchive 1024 MB). Estimates, said as such: 1 KB of CloudWatch logs per
// invocation, one GetSecretValue per function cold start (30 per run), 6 custom metric streams
// for the hour of the run, and the dashboard's own polling left out (it depends on who watches).
import { AWS_PRICES as P, PRICES_AS_OF } from './aws-prices';
import { E2E_TASKS, type E2eResult, measureE2e } from './e2e.bench';
import type { Usage } from './e2e-usage';

const TASKS = 33;
const TASK_HOURS = 1;
const HEARTBEATS_PER_TASK = (3600 / 30) * TASK_HOURS; // 120
const REAPER_PASSES = 60 * TASK_HOURS; // the rule fires every minute while the run is active
const CLI_POLLS = (3600 / 5) * TASK_HOURS; // benchfleet's progress loop polls GET /run every 5 s
const COLD_STARTS = 30;
const LOG_BYTES_PER_INVOCATION = 1024;
const METRIC_STREAMS = 6; // Claims x {assigned, wait, done}, Completions, QueueDepth, RunningTasks
const FUNCTION_GB = 0.5;
const BUILD_ARCHIVE_GB = 1;
const ALARMS = 3; // lib/constructs/monitoring.ts
const SECRETS = 2; // the operator key and the runner key
const DDB_BYTES_PER_TASK = 1024; // a task item with its GSI projection, generously
const HOURS_PER_MONTH = 730;

interface Bill {
  lambda_requests: number;
  lambda_gb_s: number;
  api_requests: number;
  ddb_rcu: number;
  ddb_wcu: number;
  s3_put: number;
  s3_get: number;
  sfn_transitions: number;
  eventbridge_events: number;
  secrets_api_calls: number;
  log_bytes: number;
}

const apiTotals = (u: Usage): { calls: number; ms: number } =>
  Object.values(u.api).reduce((s, v) => ({ calls: s.calls + v.calls, ms: s.ms + v.total_ms }), {
    calls: 0,
    ms: 0,
  });

export function exampleRunUsage(e: E2eResult): Bill {
  const f = TASKS / E2E_TASKS;
  const run = apiTotals(e.run);
  const beat = apiTotals(e.heartbeat);
  const getRun = e.run.api['GET /run'];
  const pollMs = getRun ? getRun.total_ms / getRun.calls : 50;
  const stepMs = Object.entries(e.run.sfn.step_ms).reduce(
    (s, [name, ms]) => s + (ms / 1000) * (name === 'BuildArchive' ? BUILD_ARCHIVE_GB : FUNCTION_GB),
    0,
  );
  const invocations =
    run.calls * f +
    HEARTBEATS_PER_TASK * TASKS * beat.calls +
    REAPER_PASSES +
    CLI_POLLS +
    e.run.sfn.transitions;
  return {
    lambda_requests: invocations,
    lambda_gb_s:
      ((run.ms * f +
        HEARTBEATS_PER_TASK * TASKS * beat.ms +
        REAPER_PASSES * e.reaper_pass.duration_ms +
        CLI_POLLS * pollMs) /
        1000) *
        FUNCTION_GB +
      stepMs,
    api_requests: run.calls * f + HEARTBEATS_PER_TASK * TASKS * beat.calls + CLI_POLLS,
    // GET /run reads O(1) items: priced as 2 strongly consistent reads per poll
    ddb_rcu:
      e.run.ddb.rcu * f +
      HEARTBEATS_PER_TASK * TASKS * e.heartbeat.ddb.rcu +
      REAPER_PASSES * e.reaper_pass.ddb.rcu +
      CLI_POLLS * 2,
    ddb_wcu:
      e.run.ddb.wcu * f +
      HEARTBEATS_PER_TASK * TASKS * e.heartbeat.ddb.wcu +
      REAPER_PASSES * e.reaper_pass.ddb.wcu,
    s3_put: e.run.s3.put * f,
    s3_get: e.run.s3.get * f,
    sfn_transitions: e.run.sfn.transitions,
    eventbridge_events: REAPER_PASSES,
    secrets_api_calls: COLD_STARTS,
    log_bytes: invocations * LOG_BYTES_PER_INVOCATION,
  };
}

export function price(b: Bill): Record<string, number> {
  return {
    lambda: b.lambda_requests * P.lambda.request + b.lambda_gb_s * P.lambda.gbSecondArm64,
    api_gateway: b.api_requests * P.apiGatewayHttp.request,
    dynamodb:
      b.ddb_rcu * P.dynamodbOnDemand.readRequestUnit + b.ddb_wcu * P.dynamodbOnDemand.writeRequestUnit,
    s3_requests: b.s3_put * P.s3Standard.putRequest + b.s3_get * P.s3Standard.getRequest,
    step_functions: b.sfn_transitions * P.stepFunctionsStandard.stateTransition,
    eventbridge: b.eventbridge_events * P.eventBridge.scheduledRuleEvent,
    secrets_manager_calls: b.secrets_api_calls * P.secretsManager.apiCall,
    cloudwatch_logs: (b.log_bytes / 1024 ** 3) * P.cloudWatch.logsIngestionGb,
    cloudwatch_metrics: (METRIC_STREAMS * P.cloudWatch.customMetricMonth * TASK_HOURS) / HOURS_PER_MONTH,
  };
}

/** A month idle: the reaper rule is disabled (checked on the e2e stack), so nothing is invoked. */
export function idleMonth(e: E2eResult): { compute: number; breakdown: Record<string, number> } {
  const compute = e.schedule_enabled_after_run ? Number.NaN : 0; // NaN would say the schedule stayed on
  const resultsGb = ((e.stored_bytes / E2E_TASKS) * TASKS) / 1024 ** 3;
  return {
    compute,
    breakdown: {
      compute,
      secrets: SECRETS * P.secretsManager.secretMonth,
      alarms: ALARMS * P.cloudWatch.alarmMonth,
      s3_storage_one_run: resultsGb * P.s3Standard.storageGbMonth,
      dynamodb_storage_one_run:
        ((TASKS * DDB_BYTES_PER_TASK) / 1024 ** 3) * P.dynamodbOnDemand.storageGbMonth,
    },
  };
}

const usd = (x: number): number => Number(x.toFixed(6));
const sum = (o: Record<string, number>): number => Object.values(o).reduce((s, v) => s + v, 0);

export async function run(): Promise<void> {
  const e = await measureE2e();
  const bill = exampleRunUsage(e);
  const breakdown = price(bill);
  const idle = idleMonth(e);
  console.log(
    JSON.stringify({
      bench: 'cost',
      example_run_usd: usd(sum(breakdown)),
      idle_month_compute_usd: usd(idle.compute),
      idle_month_total_usd: usd(sum(idle.breakdown)),
      breakdown: Object.fromEntries(Object.entries(breakdown).map(([k, v]) => [k, usd(v)])),
      idle_breakdown: Object.fromEntries(Object.entries(idle.breakdown).map(([k, v]) => [k, usd(v)])),
      usage: Object.fromEntries(Object.entries(bill).map(([k, v]) => [k, Math.round(v * 100) / 100])),
      example: { tasks: TASKS, task_hours: TASK_HOURS, heartbeats_per_task: HEARTBEATS_PER_TASK },
      prices: `${P.region}, ${PRICES_AS_OF}`,
    }),
  );
}
