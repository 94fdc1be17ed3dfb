// The AWS runner fleet of one run (`BenchfleetFleet`): one EC2 instance per planned VM, each booting
// straight into the runner. Public subnets and no NAT: a NAT gateway costs more per hour than most
// runner VMs and is one more thing to leak; a security group with no inbound rule already makes
// the VMs unreachable, and Session Manager gives a shell without any open port.
import { Aws, CfnOutput, Duration, Stack, type StackProps, Tags, TimeZone } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as targets from 'aws-cdk-lib/aws-scheduler-targets';
import type { Construct } from 'constructs';
import { RUN_ID_TAG_KEY } from '../lambdas/shared/fleet-plan';
import { MIN_RUNNER_DISK_GB, runnerDiskGb } from '../lambdas/shared/vm-life';
import type { FleetPlanFile } from './fleet/fleet-plan-file';
import { runnerBootScript } from './fleet/user-data';
import { acknowledgeFleetFindings } from './nag';
import { PROJECT_TAG } from './orchestrator-stack';

export interface FleetStackProps extends StackProps {
  readonly fleet: FleetPlanFile;
}

/** Amazon Linux 2023 from its public SSM parameter (resolved at deploy, no context lookup). */
export const runnerImage = (arch: 'x86_64' | 'arm64'): ec2.IMachineImage =>
  ec2.MachineImage.latestAmazonLinux2023({
    cpuType: arch === 'arm64' ? ec2.AmazonLinuxCpuType.ARM_64 : ec2.AmazonLinuxCpuType.X86_64,
  });

export class FleetStack extends Stack {
  readonly instances: ec2.Instance[] = [];

  constructor(scope: Construct, id: string, props: FleetStackProps) {
    super(scope, id, props);
    const { fleet } = props;
    Tags.of(this).add(PROJECT_TAG.key, PROJECT_TAG.value);
    Tags.of(this).add(RUN_ID_TAG_KEY, String(fleet.runId));

    // A public subnet in every zone the CLI's preflight listed (subnets cost nothing), so each
    // instance type can go where AWS offers it; the list is the same from run to run, so a kept
    // fleet's next deploy does not move subnets. Without the list: the region's first two zones.
    const vpc = new ec2.Vpc(this, 'Vpc', {
      natGateways: 0,
      ...(fleet.availabilityZones ? { availabilityZones: fleet.availabilityZones } : { maxAzs: 2 }),
      subnetConfiguration: [{ name: 'public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 20 }],
    });
    const securityGroup = new ec2.SecurityGroup(this, 'RunnerSg', {
      vpc,
      description: 'Benchfleet runners: no inbound rules, outbound to the API, S3, registries',
      allowAllOutbound: true,
    });

    const role = new iam.Role(this, 'RunnerRole', {
      assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com'),
      description: 'Benchfleet runner VMs: Session Manager, the runner bundle, the runner key',
      managedPolicies: [iam.ManagedPolicy.fromAwsManagedPolicyName('AmazonSSMManagedInstanceCore')],
    });
    role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['s3:GetObject'],
        resources: [`arn:${Aws.PARTITION}:s3:::${fleet.artifactBucket}/${fleet.artifactKey}`],
      }),
    );
    role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['secretsmanager:GetSecretValue'],
        resources: [fleet.runnerKeySecretArn],
      }),
    );

    // One profile for all VMs (ec2.Instance would otherwise make one per instance).
    const instanceProfile = new iam.InstanceProfile(this, 'RunnerProfile', { role });

    for (const entry of fleet.plan) {
      const userData = ec2.UserData.forLinux();
      userData.addCommands(...runnerBootScript({ fleet, instanceType: entry.instance_type }));
      // A zone that offers the type (chosen at preflight), else the first public subnet.
      const vpcSubnets: ec2.SubnetSelection = {
        subnetType: ec2.SubnetType.PUBLIC,
        ...(entry.availability_zone && { availabilityZones: [entry.availability_zone] }),
      };
      for (let n = 1; n <= entry.vm_count; n++) {
        // The run id in the id: a kept fleet's next run gets new instances (and logical ids)
        // instead of an update of VMs that terminated themselves with the old run's user data.
        const instance = new ec2.Instance(this, `Runner-${fleet.runId}-${entry.instance_type}-${n}`, {
          vpc,
          vpcSubnets,
          associatePublicIpAddress: true,
          securityGroup,
          instanceProfile,
          instanceType: new ec2.InstanceType(entry.instance_type),
          machineImage: runnerImage(entry.arch),
          userData,
          // IMDSv2 on the instance itself: `requireImdsv2` would add a launch template per VM
          // with a fixed name (`<id>LaunchTemplate`), untagged, that the sweep cannot find.
          httpTokens: ec2.HttpTokens.REQUIRED,
          // Only the VM itself may ask IMDS for the role's credentials (which read the runner key): a
          // benchmark container on Docker's bridge is one hop further, and Amazon Linux 2023 allows 2.
          httpPutResponseHopLimit: 1,
          // The runner powers the VM off when its work is done: that ends the bill too.
          instanceInitiatedShutdownBehavior: ec2.InstanceInitiatedShutdownBehavior.TERMINATE,
          propagateTagsToVolumeOnCreation: true,
          blockDevices: [
            {
              deviceName: '/dev/xvda',
              // ruby images and ruby-bench's gems need room, each slot's container its own;
              // gp3 is the cheapest general SSD
              volume: ec2.BlockDeviceVolume.ebs(
                runnerDiskGb(entry.slots_per_vm ?? 0, MIN_RUNNER_DISK_GB.aws),
                {
                  encrypted: true,
                  volumeType: ec2.EbsDeviceVolumeType.GP3,
                },
              ),
            },
          ],
        });
        Tags.of(instance).add('Name', `benchfleet-${fleet.runId}-${entry.instance_type}-${n}`);
        this.instances.push(instance);
      }
    }

    if (fleet.deadline && this.instances.length > 0) this.addBackstop(fleet.runId, new Date(fleet.deadline));

    new CfnOutput(this, 'InstanceIds', {
      value: this.instances.length > 0 ? this.instances.map((i) => i.instanceId).join(',') : '-',
      description: 'Runner VMs of this run',
    });
    acknowledgeFleetFindings(this);
  }

  /**
   * The outside bound: at the deadline (the VMs' maximum life plus BACKSTOP_GRACE_S), EventBridge
   * Scheduler terminates each VM that is still up. The VMs' own timer runs inside them; this one
   * also ends a VM whose user data never ran. One job per VM, since TerminateInstances fails as a
   * whole on an id EC2 no longer knows, and a VM that ended early is forgotten an hour after.
   */
  private addBackstop(runId: number, deadline: Date): void {
    const role = new iam.Role(this, 'BackstopRole', {
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID } },
      }),
      description: `Benchfleet run ${runId}: terminate the fleet's VMs still up at ${deadline.toISOString()}`,
    });
    const terminate = new iam.PolicyStatement({
      actions: ['ec2:TerminateInstances'],
      resources: this.instances.map(
        (i) => `arn:${Aws.PARTITION}:ec2:${Aws.REGION}:${Aws.ACCOUNT_ID}:instance/${i.instanceId}`,
      ),
    });
    for (const instance of this.instances) {
      new scheduler.Schedule(this, `${instance.node.id}-Deadline`, {
        description: `Benchfleet run ${runId}: terminate this VM if it is still up past its maximum life`,
        schedule: scheduler.ScheduleExpression.at(deadline, TimeZone.ETC_UTC),
        target: new targets.Universal({
          service: 'ec2',
          action: 'terminateInstances',
          input: scheduler.ScheduleTargetInput.fromObject({ InstanceIds: [instance.instanceId] }),
          role,
          policyStatements: [terminate],
          // an instance EC2 has forgotten is not found on every try: a few tries, then let go
          retryAttempts: 3,
          maxEventAge: Duration.hours(1),
        }),
      });
    }
  }
}
