// The dashboard's security headers, in one place: dashboard/serve.ts sends them in local mode, and
// the CDK's CloudFront response headers policy (lib/constructs/dashboard-site.ts) in AWS.
// `frame-ancestors` only works as a header (a <meta> CSP ignores it), so the page's stop button
// cannot be clicked through someone else's frame; X-Frame-Options says the same to browsers
// without CSP 2.
export const FRAME_ANCESTORS_CSP = "frame-ancestors 'none'";

export const DASHBOARD_SECURITY_HEADERS = {
  'Content-Security-Policy': FRAME_ANCESTORS_CSP,
  'X-Frame-Options': 'DENY',
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
} as const satisfies Record<string, string>;
