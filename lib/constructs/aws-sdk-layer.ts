// The AWS SDK layer every function of a stack shares (lambdaSdk=layer, the default): the lockfile's
// SDK, built offline by esbuild at synth (lib/bundling.ts: buildSdkLayer), each package evaluated
// on a function's first use of it. One per stack.
import { AssetHashType, DockerImage, Stack } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import type { Construct } from 'constructs';
import { buildSdkLayer, SDK_MODULE } from '../bundling';
import { REPO_ROOT } from '../paths';

const ID = 'AwsSdkLayer';

export class AwsSdkLayer extends lambda.LayerVersion {
  /** The stack's layer, created on first use. */
  static of(scope: Construct): AwsSdkLayer {
    const stack = Stack.of(scope);
    return (stack.node.tryFindChild(ID) as AwsSdkLayer | undefined) ?? new AwsSdkLayer(stack, ID);
  }

  private constructor(scope: Construct, id: string) {
    super(scope, id, {
      description: `${SDK_MODULE}: the AWS SDK of the Benchfleet functions (package-lock.json versions)`,
      compatibleRuntimes: [lambda.Runtime.NODEJS_24_X],
      compatibleArchitectures: [lambda.Architecture.ARM_64],
      code: lambda.Code.fromAsset(REPO_ROOT, {
        // The hash of what is built, not of the whole repository.
        assetHashType: AssetHashType.OUTPUT,
        bundling: {
          // Never used: local bundling always answers (and throws on a build error rather than
          // falling back to Docker), so synth needs no Docker and no network.
          image: DockerImage.fromRegistry('benchfleet-no-docker-bundling'),
          local: {
            tryBundle(outputDir: string): boolean {
              buildSdkLayer(outputDir);
              return true;
            },
          },
        },
      }),
    });
  }
}
