// Every Benchfleet bucket: no public access of any kind, encrypted at rest, TLS only (1.2+),
// object ownership enforced (no ACLs). Callers add lifecycle and removal behaviour.
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import type { Construct } from 'constructs';

export interface PrivateBucketProps {
  readonly lifecycleRules?: s3.LifecycleRule[];
  /** RETAIN keeps data past `cdk destroy` (the nuke sweep finds it by tag); DESTROY empties it first. */
  readonly removalPolicy: RemovalPolicy.RETAIN | RemovalPolicy.DESTROY;
}

export function privateBucket(scope: Construct, id: string, props: PrivateBucketProps): s3.Bucket {
  const destroy = props.removalPolicy === RemovalPolicy.DESTROY;
  return new s3.Bucket(scope, id, {
    blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
    encryption: s3.BucketEncryption.S3_MANAGED,
    enforceSSL: true,
    minimumTLSVersion: 1.2,
    objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
    lifecycleRules: props.lifecycleRules,
    removalPolicy: props.removalPolicy,
    autoDeleteObjects: destroy,
  });
}

/**
 * Results: unfinished multipart uploads (a Lambda that timed out mid-archive) go after a day;
 * tarballs move to infrequent access after a month, when nobody downloads them any more; everything
 * expires after the retention.
 */
export function resultsLifecycle(retentionDays: number): s3.LifecycleRule[] {
  return [
    { id: 'abort-incomplete-uploads', abortIncompleteMultipartUploadAfter: Duration.days(1) },
    {
      id: 'age-out-results',
      transitions: [{ storageClass: s3.StorageClass.INFREQUENT_ACCESS, transitionAfter: Duration.days(30) }],
      expiration: Duration.days(Math.max(retentionDays, 31)),
    },
  ];
}
