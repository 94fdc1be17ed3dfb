// The two API keys (DESIGN.md, Decisions): the operator key for every write route, the runner key
// for the task routes only, so the key a VM holds cannot start or stop runs. Both are generated at
// deploy; handlers read them once per cold start.
import { RemovalPolicy } from 'aws-cdk-lib';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';

const generated = (scope: Construct, id: string, description: string): secretsmanager.Secret =>
  new secretsmanager.Secret(scope, id, {
    description,
    // Bearer tokens: long, URL- and shell-safe (no punctuation, no spaces).
    generateSecretString: { passwordLength: 48, excludePunctuation: true, includeSpace: false },
    removalPolicy: RemovalPolicy.DESTROY,
  });

export class ApiKeys extends Construct {
  readonly operator: secretsmanager.Secret;
  readonly runner: secretsmanager.Secret;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.operator = generated(this, 'OperatorKey', 'Benchfleet operator key: every write route of the API');
    this.runner = generated(
      this,
      'RunnerKey',
      'Benchfleet runner key: claim, heartbeat, complete, fail, upload-urls',
    );
  }
}
