// The HTTP API, one route per entry of the shared route table (lambdas/shared/routes.ts), each to
// its handler's function, and a `$default` route for everything else. Authorization is in the
// handlers (Bearer keys from Secrets Manager), so the API itself only adds CORS for the dashboard,
// throttling and access logs.
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { CORS_EXPOSED_HEADERS, type HandlerName, ROUTES, routeKey } from '../../lambdas/shared/routes';
import type { NodeFunction } from './node-function';

export interface OrchestratorApiProps {
  readonly functions: ReadonlyMap<HandlerName, NodeFunction>;
  /** The `$default` route's function: the JSON 404 of a request no route matches. */
  readonly notFound: NodeFunction;
  /** Browser origins allowed to call the API (the dashboard's CloudFront URL). */
  readonly allowedOrigins: string[];
  /**
   * Stage-wide limits. 10,000 runner slots heartbeating every 30 s make ~330 requests/s at most;
   * the defaults leave room for claims and uploads above that.
   */
  readonly throttle?: { readonly rateLimit: number; readonly burstLimit: number };
}

/**
 * Each public read route's own limit (the stage's applies to every route): reads need no key, so
 * anyone can send them, and each one runs a Lambda from the account's shared concurrency, as the
 * runners' heartbeats and completes do. Dashboards poll GET /run every few seconds.
 */
export const PUBLIC_READ_THROTTLE = { rateLimit: 50, burstLimit: 100 } as const;

export class OrchestratorApi extends Construct {
  readonly httpApi: apigwv2.HttpApi;
  readonly stage: apigwv2.HttpStage;
  /** Base URL without a trailing slash: what runners get as `--api`. */
  readonly url: string;

  constructor(scope: Construct, id: string, props: OrchestratorApiProps) {
    super(scope, id);
    this.httpApi = new apigwv2.HttpApi(this, 'HttpApi', {
      description: 'Benchfleet orchestrator API',
      createDefaultStage: false,
      corsPreflight: {
        allowOrigins: props.allowedOrigins,
        allowMethods: [
          apigwv2.CorsHttpMethod.GET,
          apigwv2.CorsHttpMethod.POST,
          apigwv2.CorsHttpMethod.OPTIONS,
        ],
        allowHeaders: ['authorization', 'content-type'],
        // API Gateway answers CORS itself and drops the handlers' CORS headers, this one included
        exposeHeaders: CORS_EXPOSED_HEADERS,
        maxAge: Duration.hours(1),
      },
    });
    const accessLogs = new logs.LogGroup(this, 'AccessLogs', {
      retention: logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.stage = this.httpApi.addStage('DefaultStage', {
      stageName: '$default',
      autoDeploy: true,
      throttle: props.throttle ?? { rateLimit: 500, burstLimit: 1000 },
      accessLogSettings: { destination: new apigwv2.LogGroupLogDestination(accessLogs) },
    });
    this.url = this.httpApi.apiEndpoint;

    // One integration per function: claim-task serves two routes with one Lambda permission.
    const integrations = new Map<HandlerName, HttpLambdaIntegration>();
    const publicRoutes: Array<[string, apigwv2.HttpRoute[]]> = [];
    for (const route of ROUTES) {
      const fn = props.functions.get(route.handler);
      if (!fn) throw new Error(`no function for handler ${route.handler} (${route.method} ${route.path})`);
      let integration = integrations.get(route.handler);
      if (!integration) {
        integration = new HttpLambdaIntegration(`${route.handler}-integration`, fn);
        integrations.set(route.handler, integration);
      }
      const added = this.httpApi.addRoutes({
        path: route.path,
        methods: [route.method === 'GET' ? apigwv2.HttpMethod.GET : apigwv2.HttpMethod.POST],
        integration,
      });
      if (route.access === 'public') publicRoutes.push([routeKey(route), added]);
    }
    const cfnStage = this.stage.node.defaultChild as apigwv2.CfnStage;
    // a JSON property of the L1: CloudFormation's own key names, passed through as they are
    cfnStage.routeSettings = Object.fromEntries(
      publicRoutes.map(([key]) => [
        key,
        {
          ThrottlingRateLimit: PUBLIC_READ_THROTTLE.rateLimit,
          ThrottlingBurstLimit: PUBLIC_READ_THROTTLE.burstLimit,
        },
      ]),
    );
    // A stage's route settings must name routes that exist already: CloudFormation fails it
    // ("Unable to find Route by key") when it is created first, as nothing else orders the two.
    for (const [, added] of publicRoutes) this.stage.node.addDependency(...added);
    // Without it API Gateway answers an unknown path or method with its own `{"message":"Not
    // Found"}`; the API's errors are JSON `{error, message}`, as the local server answers them.
    // It also catches every CORS preflight (no route takes OPTIONS): the function answers those
    // 204 (lambdas/shared/routes.ts PREFLIGHT) and the CORS setting above adds the headers.
    new apigwv2.HttpRoute(this, 'DefaultRoute', {
      httpApi: this.httpApi,
      routeKey: apigwv2.HttpRouteKey.DEFAULT,
      integration: new HttpLambdaIntegration('not-found-integration', props.notFound),
    });
  }
}
