// The dashboard: a private bucket served only through CloudFront with origin access control, over
// HTTPS only, and a config.json beside the page that tells it the API URL.
import { Aws, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as origins from 'aws-cdk-lib/aws-cloudfront-origins';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3deploy from 'aws-cdk-lib/aws-s3-deployment';
import { Construct } from 'constructs';
import { FRAME_ANCESTORS_CSP } from '../../dashboard/security-headers';
import { privateBucket } from './private-bucket';

export class DashboardSite extends Construct {
  readonly bucket: s3.Bucket;
  readonly distribution: cloudfront.Distribution;
  /** `https://<id>.cloudfront.net`: the page's address and the API's allowed CORS origin. */
  readonly url: string;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    // Rebuilt from the repository on every deploy, so nothing here is worth keeping.
    this.bucket = privateBucket(this, 'Bucket', { removalPolicy: RemovalPolicy.DESTROY });
    this.distribution = new cloudfront.Distribution(this, 'Cdn', {
      comment: 'Benchfleet dashboard',
      defaultRootObject: 'index.html',
      defaultBehavior: {
        origin: origins.S3BucketOrigin.withOriginAccessControl(this.bucket),
        viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.HTTPS_ONLY,
        cachePolicy: cloudfront.CachePolicy.CACHING_OPTIMIZED,
        responseHeadersPolicy: this.securityHeaders(),
      },
      priceClass: cloudfront.PriceClass.PRICE_CLASS_100,
    });
    this.url = `https://${this.distribution.distributionDomainName}`;
  }

  /**
   * The headers dashboard/serve.ts sends in local mode (dashboard/security-headers.ts), plus HSTS.
   * The managed SECURITY_HEADERS policy has no CSP and allows same-origin frames.
   */
  private securityHeaders(): cloudfront.ResponseHeadersPolicy {
    return new cloudfront.ResponseHeadersPolicy(this, 'SecurityHeaders', {
      // names are unique per account, not per region: a deployment in a second region needs its own
      responseHeadersPolicyName: `${Stack.of(this).stackName}-dashboard-headers-${Aws.REGION}`,
      comment: 'Benchfleet dashboard: no framing, no sniffing, no referrer, HTTPS only',
      securityHeadersBehavior: {
        contentSecurityPolicy: { contentSecurityPolicy: FRAME_ANCESTORS_CSP, override: true },
        frameOptions: { frameOption: cloudfront.HeadersFrameOption.DENY, override: true },
        contentTypeOptions: { override: true },
        referrerPolicy: {
          referrerPolicy: cloudfront.HeadersReferrerPolicy.NO_REFERRER,
          override: true,
        },
        strictTransportSecurity: {
          accessControlMaxAge: Duration.days(365),
          includeSubdomains: true,
          override: true,
        },
      },
    });
  }

  /** Uploads the built page and its config.json, then invalidates the cache so both change together. */
  publish(distDir: string, apiUrl: string): s3deploy.BucketDeployment {
    return new s3deploy.BucketDeployment(this, 'Publish', {
      sources: [
        // a config.json the local server left in the build folder must not race the deployed one
        s3deploy.Source.asset(distDir, { exclude: ['config.json'] }),
        s3deploy.Source.jsonData('config.json', { apiUrl }),
      ],
      destinationBucket: this.bucket,
      distribution: this.distribution,
      distributionPaths: ['/*'],
      memoryLimit: 256,
    });
  }
}
