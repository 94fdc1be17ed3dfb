// The bundled runner (dist/runner.js), uploaded at deploy to a private bucket. AWS VMs fetch it
// with their instance role; Azure VMs get a presigned URL minted by the CLI.
import { RemovalPolicy } from 'aws-cdk-lib';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3deploy from 'aws-cdk-lib/aws-s3-deployment';
import { Construct } from 'constructs';
import { BUILD_OUTPUTS } from '../paths';
import { privateBucket } from './private-bucket';

export const RUNNER_ARTIFACT_PREFIX = 'runner/';
export const RUNNER_ARTIFACT_KEY = `${RUNNER_ARTIFACT_PREFIX}${BUILD_OUTPUTS.runnerFile}`;

export class RunnerArtifact extends Construct {
  readonly bucket: s3.Bucket;
  readonly key = RUNNER_ARTIFACT_KEY;

  constructor(scope: Construct, id: string, props: { readonly runnerDir: string }) {
    super(scope, id);
    this.bucket = privateBucket(this, 'Bucket', { removalPolicy: RemovalPolicy.DESTROY });
    new s3deploy.BucketDeployment(this, 'Upload', {
      // dist/ may hold other build outputs: only runner.js is shipped.
      sources: [s3deploy.Source.asset(props.runnerDir, { exclude: ['*', `!${BUILD_OUTPUTS.runnerFile}`] })],
      destinationBucket: this.bucket,
      destinationKeyPrefix: RUNNER_ARTIFACT_PREFIX,
      memoryLimit: 256,
    });
  }
}
