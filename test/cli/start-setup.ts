// What start.test.ts and start-before-launch.test.ts share: the real local API in this process, a
// config of one AWS and one Azure type with an SSH key, a fresh sandbox of fake cdk/terraform/az per
// test, and the AWS SDK mocked with answers a test may override. Apart from helpers.ts, which most
// CLI tests import, as importing this one loads the local stack and the SDK clients it mocks.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { DescribeInstancesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { GetServiceQuotaCommand, ServiceQuotasClient } from '@aws-sdk/client-service-quotas';
import { mockClient } from 'aws-sdk-client-mock';
import { type LocalStack, startLocalStack } from '../../lambdas/adapters/local/stack';
import { FakeRegistry } from '../helpers/fake-registry';
import { tempDir } from '../helpers/temp-dir';
import { installZones } from './fake-zones';
import {
  type CliResult,
  fakeOutputs,
  playerApi,
  runCli,
  type Sandbox,
  sandbox,
  stackGone,
  startFiles,
} from './helpers';

export const OPERATOR = 'cli-test-operator';
export const RUNNER = 'cli-test-runner';

const usage = JSON.stringify([
  { currentValue: 4, limit: 100, name: { value: 'cores', localizedValue: 'Total Regional vCPUs' } },
  {
    currentValue: 0,
    limit: 20,
    name: { value: 'standardDPLSv6Family', localizedValue: 'Standard DPLSv6 Family vCPUs' },
  },
  {
    currentValue: 0,
    limit: 10,
    name: { value: 'standardBSFamily', localizedValue: 'Standard BS Family vCPUs' },
  },
]);

/**
 * Mocks the SDK clients and registers the test file's hooks: the stack and the files for the whole
 * file, a sandbox and the mocks' default answers for each test. The getters hold from beforeAll on.
 */
export function startSetup() {
  const sm = mockClient(SecretsManagerClient);
  const sq = mockClient(ServiceQuotasClient);
  const ec2 = mockClient(EC2Client);
  const cfn = mockClient(CloudFormationClient);

  let stack: LocalStack;
  let box: Sandbox;
  let tarball: Buffer;
  let keyFile: string;
  let configFile: string;
  let registry: FakeRegistry;
  let registryBefore: string | undefined;

  beforeAll(async () => {
    // The in-process API would print its CloudWatch metric lines into the CLI's stdout.
    process.env.POWERTOOLS_METRICS_DISABLED = 'true';
    stack = await startLocalStack({ operatorKey: OPERATOR, runnerKey: RUNNER, reaperIntervalS: 3600 });
    // start's image check finds the config's image (ruby:3.4.7)
    registry = await new FakeRegistry(['library/ruby:3.4.7']).start();
    registryBefore = process.env.BENCHFLEET_REGISTRY_URL;
    process.env.BENCHFLEET_REGISTRY_URL = registry.url;
    const files = startFiles('bf-start-');
    const dir = files.dir;
    ({ tarball, keyFile } = files);
    configFile = join(dir, 'run.json');
    writeFileSync(
      configFile,
      '{\n  // one type per cloud\n  "ruby_version": "3.4.7",\n  "runs_per_instance_type": 2,\n  "aws": ["c7g.medium"],\n  "azure": ["Standard_D2pls_v6"]\n}\n',
    );
  });
  afterAll(async () => {
    process.env.BENCHFLEET_REGISTRY_URL = registryBefore;
    await registry.stop();
    await stack.stop();
  });

  beforeEach(() => {
    box = sandbox({
      FAKE_SLEEP_MS: '100',
      FAKE_RENDEZVOUS: tempDir('bf-rendezvous-'),
      FAKE_AZ_USAGE: usage,
      FAKE_CDK_OUTPUTS: JSON.stringify(fakeOutputs(stack.apiUrl)),
    });
    sm.reset();
    sq.reset();
    ec2.reset();
    cfn.reset();
    // the teardown asks whose VMs the fleet stack holds: here, none yet (cdk is a fake)
    cfn.on(DescribeStacksCommand).rejects(stackGone());
    sm.on(GetSecretValueCommand, {
      SecretId: 'arn:aws:secretsmanager:us-east-1:000000000000:secret:operator',
    }).resolves({ SecretString: OPERATOR });
    sm.on(GetSecretValueCommand, {
      SecretId: 'arn:aws:secretsmanager:us-east-1:000000000000:secret:runner',
    }).resolves({ SecretString: RUNNER });
    sq.on(GetServiceQuotaCommand).resolves({ Quota: { Value: 32 } });
    ec2.on(DescribeInstancesCommand).resolves({ Reservations: [] });
    // c7g.medium is missing from us-east-1a, as new families are from some zones.
    installZones(ec2, {
      'us-east-1a': ['c7a.large', 'm7g.large'],
      'us-east-1b': ['c7a.large', 'c7g.medium'],
      'us-east-1c': ['c7g.medium', 'm7g.large'],
    });
  });
  afterEach(() => box.restore());

  return {
    cfn,
    sm,
    sq,
    ec2,
    get stack(): LocalStack {
      return stack;
    },
    /** this test's sandbox */
    get box(): Sandbox {
      return box;
    },
    get tarball(): Buffer {
      return tarball;
    },
    get keyFile(): string {
      return keyFile;
    },
    get configFile(): string {
      return configFile;
    },
    api: playerApi(() => stack.apiUrl),
    /** `benchfleet start` on the test's config and SSH key, with `--yes`, and any further flags. */
    runStart: (...extra: string[]): Promise<CliResult> =>
      runCli(['start', '--config', configFile, '--yes', '--ssh-public-key', keyFile, ...extra]),
  };
}
