// Public AWS list prices, us-east-1, in USD: the one place `perf/cost.bench.ts` takes them from.
// Checked on 2026-11-30 against stored copies of public price pages (this machine has no network):
// - Lambda arm64 duration and requests: the AWS Lambda pricing page's figures, as quoted by
//   cloudchipr.com/blog/aws-lambda-pricing;
// - API Gateway HTTP APIs: awsforengineers.com and amnic.com, quoting the AWS page;
// - DynamoDB on demand: the halved prices of November 2024 (AWS News Blog post, updated 2025-01,
//   and airbyte.com's guide);
// - Step Functions standard: aws.amazon.com/step-functions/pricing;
// - S3 Standard requests and storage: c3x.dev's request-fee matrix and cloudtoggle.com;
// - Secrets Manager: hivebook.wiki; CloudWatch logs, metrics and alarms: factualminds.com,
//   signoz.io and c3x.dev.
// Every figure below matched. Update them here, with this date, when they change. Free tiers are
// ignored on purpose: the bill below is what an account that already uses its free tier pays.
export const PRICES_AS_OF = '2026-11-30 (checked against public price pages)';

export const AWS_PRICES = {
  region: 'us-east-1',
  lambda: {
    /** per request */
    request: 0.2 / 1e6,
    /** per GB-second, arm64 (Graviton), first tier */
    gbSecondArm64: 0.0000133334,
  },
  apiGatewayHttp: {
    /** per request (first 300 million a month; billed per 512 KB) */
    request: 1.0 / 1e6,
  },
  dynamodbOnDemand: {
    /** per write request unit (1 KB) and read request unit (4 KB, strongly consistent; half for eventual) */
    writeRequestUnit: 0.625 / 1e6,
    readRequestUnit: 0.125 / 1e6,
    /** per GB-month of table and index storage (past the free 25 GB) */
    storageGbMonth: 0.25,
  },
  stepFunctionsStandard: {
    /** per state transition */
    stateTransition: 0.025 / 1000,
  },
  s3Standard: {
    /** PUT, COPY, POST, LIST (multipart parts each count as a PUT) */
    putRequest: 0.005 / 1000,
    /** GET, HEAD and the rest */
    getRequest: 0.0004 / 1000,
    storageGbMonth: 0.023,
  },
  eventBridge: {
    /** scheduled rules on the default bus: their events are not charged */
    scheduledRuleEvent: 0,
    /** PutRule/EnableRule/DisableRule are control-plane calls: not charged */
    apiCall: 0,
  },
  secretsManager: {
    secretMonth: 0.4,
    /** per API call (GetSecretValue) */
    apiCall: 0.05 / 10_000,
  },
  cloudWatch: {
    /** logs ingestion per GB */
    logsIngestionGb: 0.5,
    /** standard-resolution metric alarm per month */
    alarmMonth: 0.1,
    /** custom metric per month, prorated by the hour while data arrives */
    customMetricMonth: 0.3,
  },
} as const;
