// Quiet the SDK's Node-version notice and any CDK telemetry in every test process.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
process.env.CDK_DISABLE_CLI_TELEMETRY = 'true';
process.env.AWS_REGION ??= 'us-east-1';
process.env.AWS_ACCESS_KEY_ID ??= 'local';
process.env.AWS_SECRET_ACCESS_KEY ??= 'local';
process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';
process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
// `start` asks Docker Hub whether the run's image exists: tests never reach the internet, so by
// default it asks a port nothing listens on (a warning, not a refusal); start-setup.ts and the image
// tests start a fake registry instead.
process.env.BENCHFLEET_REGISTRY_URL ??= 'http://127.0.0.1:1';
