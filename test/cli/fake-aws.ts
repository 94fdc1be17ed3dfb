// A small tagged AWS inventory behind aws-sdk-client-mock: Describe* calls honour the tag filter
// (as AWS does) and deletions change the inventory, so a second look sees what is really left.
import {
  CloudFormationClient,
  DeleteStackCommand,
  DescribeStacksCommand,
} from '@aws-sdk/client-cloudformation';
import {
  CloudWatchLogsClient,
  DeleteLogGroupCommand,
  DescribeLogGroupsCommand,
} from '@aws-sdk/client-cloudwatch-logs';
import * as E from '@aws-sdk/client-ec2';
import {
  GetResourcesCommand,
  ResourceGroupsTaggingAPIClient,
} from '@aws-sdk/client-resource-groups-tagging-api';
import {
  DeleteBucketCommand,
  DeleteObjectsCommand,
  HeadBucketCommand,
  ListObjectVersionsCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';

export const ec2 = mockClient(E.EC2Client);
export const cfn = mockClient(CloudFormationClient);
export const s3 = mockClient(S3Client);
export const logs = mockClient(CloudWatchLogsClient);
export const tagging = mockClient(ResourceGroupsTaggingAPIClient);

type Tags = Array<{ Key: string; Value: string }>;
const ours: Tags = [{ Key: 'benchfleet:project', Value: 'benchfleet' }];
const theirs: Tags = [{ Key: 'team', Value: 'payments' }];
const otherProject: Tags = [{ Key: 'benchfleet:project', Value: 'another' }];

export interface World {
  instances: Array<{ InstanceId: string; State: { Name: string }; Tags: Tags }>;
  nats: Array<{ NatGatewayId: string; State: string; Tags: Tags }>;
  addresses: Array<{ AllocationId: string; AssociationId?: string; PublicIp: string; Tags: Tags }>;
  enis: Array<{ NetworkInterfaceId: string; Status: string; TagSet: Tags }>;
  volumes: Array<{ VolumeId: string; State: string; Tags: Tags }>;
  groups: Array<{ GroupId: string; GroupName: string; Tags: Tags }>;
  igws: Array<{ InternetGatewayId: string; Attachments: Array<{ VpcId: string }>; Tags: Tags }>;
  subnets: Array<{ SubnetId: string; Tags: Tags }>;
  routeTables: Array<{ RouteTableId: string; Associations: Array<{ Main: boolean }>; Tags: Tags }>;
  vpcs: Array<{ VpcId: string; Tags: Tags }>;
  /**
   * A stack `busyFor` more describes in its (busy) status, then in `settlesTo`: a deploy going on
   * in AWS. CloudFormation refuses to delete it meanwhile, as DeleteStack does here.
   */
  stacks: Array<{ StackName: string; StackStatus: string; busyFor?: number; settlesTo?: string }>;
  buckets: Array<{ name: string; Tags: Tags; objects: number }>;
  logGroups: Array<{ name: string; Tags: Tags }>;
}

export function world(): World {
  return {
    instances: [
      { InstanceId: 'i-ours', State: { Name: 'running' }, Tags: ours },
      { InstanceId: 'i-theirs', State: { Name: 'running' }, Tags: theirs },
      { InstanceId: 'i-another', State: { Name: 'running' }, Tags: otherProject },
    ],
    nats: [{ NatGatewayId: 'nat-ours', State: 'available', Tags: ours }],
    addresses: [
      { AllocationId: 'eipalloc-ours', AssociationId: 'eipassoc-1', PublicIp: '192.0.2.1', Tags: ours },
      { AllocationId: 'eipalloc-theirs', PublicIp: '192.0.2.2', Tags: theirs },
    ],
    enis: [
      { NetworkInterfaceId: 'eni-ours', Status: 'available', TagSet: ours },
      { NetworkInterfaceId: 'eni-theirs', Status: 'available', TagSet: theirs },
    ],
    volumes: [
      { VolumeId: 'vol-ours', State: 'available', Tags: ours },
      { VolumeId: 'vol-theirs', State: 'available', Tags: theirs },
    ],
    groups: [
      { GroupId: 'sg-ours', GroupName: 'runners', Tags: ours },
      { GroupId: 'sg-default', GroupName: 'default', Tags: ours },
      { GroupId: 'sg-theirs', GroupName: 'web', Tags: theirs },
    ],
    igws: [{ InternetGatewayId: 'igw-ours', Attachments: [{ VpcId: 'vpc-ours' }], Tags: ours }],
    subnets: [
      { SubnetId: 'subnet-ours', Tags: ours },
      { SubnetId: 'subnet-theirs', Tags: theirs },
    ],
    routeTables: [
      { RouteTableId: 'rtb-ours', Associations: [], Tags: ours },
      { RouteTableId: 'rtb-main', Associations: [{ Main: true }], Tags: ours },
    ],
    vpcs: [
      { VpcId: 'vpc-ours', Tags: ours },
      { VpcId: 'vpc-theirs', Tags: theirs },
    ],
    stacks: [],
    buckets: [
      { name: 'bf-results', Tags: ours, objects: 3 },
      { name: 'payments-data', Tags: theirs, objects: 5 },
    ],
    logGroups: [
      { name: '/benchfleet/api', Tags: ours },
      // Made by Lambda for CDK's custom-resource functions: untagged, named after the stacks.
      { name: '/aws/lambda/Benchfleet-CustomCDKBucketDeployment8693BB-AbCdEf', Tags: [] },
      { name: '/aws/lambda/BenchfleetFleet-CustomVpcRestrictDefaultSG-GhIjKl', Tags: [] },
      // Someone else's, sharing a prefix: never touched.
      { name: '/aws/lambda/BenchfleetStaging-api', Tags: theirs },
      { name: '/aws/lambda/payments-api', Tags: theirs },
    ],
  };
}

type Filters = Array<{ Name?: string; Values?: string[] }> | undefined;
/** Applies `tag:K` filters as EC2 does; `ignoreFilters` plays an API that returned too much (log group prefixes too). */
function match(tags: Tags, filters: Filters, ignoreFilters: boolean): boolean {
  if (ignoreFilters) return true;
  return (filters ?? []).every((f) => {
    if (!f.Name?.startsWith('tag:')) return true;
    const key = f.Name.slice(4);
    return tags.some((t) => t.Key === key && (f.Values ?? []).includes(t.Value));
  });
}

/** Every mutating call, in the order made, as `Command id`. */
export const order: string[] = [];
const did = (command: string, id: unknown): void => {
  order.push(`${command} ${String(id)}`);
};

export function install(w: World, opts: { ignoreFilters?: boolean; failVpc?: boolean } = {}): void {
  const ig = Boolean(opts.ignoreFilters);
  for (const m of [ec2, cfn, s3, logs, tagging]) m.reset();
  order.length = 0;
  const polls = new Map<string, number>();

  ec2.on(E.DescribeInstancesCommand).callsFake((i: E.DescribeInstancesCommandInput) => {
    // A terminated instance reads `shutting-down` once, then `terminated`, as in AWS.
    for (const x of w.instances) {
      if (x.State.Name === 'shutting-down') {
        const n = (polls.get(x.InstanceId) ?? 0) + 1;
        polls.set(x.InstanceId, n);
        if (n > 1) x.State.Name = 'terminated';
      }
    }
    const list = w.instances.filter((x) =>
      i.InstanceIds ? i.InstanceIds.includes(x.InstanceId) : match(x.Tags, i.Filters, ig),
    );
    return { Reservations: [{ Instances: structuredClone(list) }] };
  });
  ec2.on(E.TerminateInstancesCommand).callsFake((i: E.TerminateInstancesCommandInput) => {
    did('TerminateInstances', i.InstanceIds);
    for (const x of w.instances) if (i.InstanceIds?.includes(x.InstanceId)) x.State.Name = 'shutting-down';
    return {};
  });
  ec2.on(E.DescribeNatGatewaysCommand).callsFake((i: E.DescribeNatGatewaysCommandInput) => ({
    NatGateways: structuredClone(
      w.nats.filter((x) =>
        i.NatGatewayIds ? i.NatGatewayIds.includes(x.NatGatewayId) : match(x.Tags, i.Filter, ig),
      ),
    ),
  }));
  ec2.on(E.DeleteNatGatewayCommand).callsFake((i: E.DeleteNatGatewayCommandInput) => {
    did('DeleteNatGateway', i.NatGatewayId);
    for (const x of w.nats) if (x.NatGatewayId === i.NatGatewayId) x.State = 'deleted';
    return {};
  });
  const simple = <T extends { Tags?: Tags; TagSet?: Tags }>(
    describe: new (input: never) => unknown,
    field: string,
    list: () => T[],
    remove: new (input: never) => unknown,
    idKey: keyof T & string,
    inputKey: string,
  ): void => {
    ec2.on(describe as never).callsFake((i: { Filters?: Filters }) => ({
      [field]: structuredClone(list().filter((x) => match(x.Tags ?? x.TagSet ?? [], i.Filters, ig))),
    }));
    ec2.on(remove as never).callsFake((i: Record<string, string>) => {
      did(remove.name.replace(/Command$/, ''), i[inputKey]);
      const all = list();
      const at = all.findIndex((x) => x[idKey] === i[inputKey]);
      if (at >= 0) all.splice(at, 1);
      return {};
    });
  };
  simple(
    E.DescribeAddressesCommand,
    'Addresses',
    () => w.addresses,
    E.ReleaseAddressCommand,
    'AllocationId',
    'AllocationId',
  );
  simple(
    E.DescribeNetworkInterfacesCommand,
    'NetworkInterfaces',
    () => w.enis,
    E.DeleteNetworkInterfaceCommand,
    'NetworkInterfaceId',
    'NetworkInterfaceId',
  );
  simple(E.DescribeVolumesCommand, 'Volumes', () => w.volumes, E.DeleteVolumeCommand, 'VolumeId', 'VolumeId');
  simple(
    E.DescribeSecurityGroupsCommand,
    'SecurityGroups',
    () => w.groups,
    E.DeleteSecurityGroupCommand,
    'GroupId',
    'GroupId',
  );
  simple(
    E.DescribeInternetGatewaysCommand,
    'InternetGateways',
    () => w.igws,
    E.DeleteInternetGatewayCommand,
    'InternetGatewayId',
    'InternetGatewayId',
  );
  simple(E.DescribeSubnetsCommand, 'Subnets', () => w.subnets, E.DeleteSubnetCommand, 'SubnetId', 'SubnetId');
  simple(
    E.DescribeRouteTablesCommand,
    'RouteTables',
    () => w.routeTables,
    E.DeleteRouteTableCommand,
    'RouteTableId',
    'RouteTableId',
  );
  simple(E.DescribeVpcsCommand, 'Vpcs', () => w.vpcs, E.DeleteVpcCommand, 'VpcId', 'VpcId');
  ec2.on(E.DescribeSecurityGroupsCommand, { GroupIds: ['sg-ours'] }).resolves({ SecurityGroups: [] });
  ec2.on(E.DisassociateAddressCommand).callsFake((i: E.DisassociateAddressCommandInput) => {
    did('DisassociateAddress', i.AssociationId);
    return {};
  });
  ec2.on(E.DetachInternetGatewayCommand).callsFake((i: E.DetachInternetGatewayCommandInput) => {
    did('DetachInternetGateway', i.InternetGatewayId);
    return {};
  });
  if (opts.failVpc) {
    ec2
      .on(E.DeleteVpcCommand)
      .rejects(Object.assign(new Error('The vpc has dependencies'), { name: 'DependencyViolation' }));
  }

  cfn.on(DescribeStacksCommand).callsFake((i: { StackName?: string }) => {
    const s = w.stacks.find((x) => x.StackName === i.StackName);
    if (!s)
      throw Object.assign(new Error(`Stack with id ${i.StackName} does not exist`), {
        name: 'ValidationError',
      });
    const { busyFor, settlesTo, ...stack } = s;
    if (busyFor !== undefined && settlesTo !== undefined) {
      if (busyFor <= 1) Object.assign(s, { StackStatus: settlesTo, busyFor: undefined });
      else s.busyFor = busyFor - 1;
    }
    return { Stacks: [structuredClone(stack)] };
  });
  cfn.on(DeleteStackCommand).callsFake((i: { StackName?: string }) => {
    const s = w.stacks.find((x) => x.StackName === i.StackName);
    if (s?.StackStatus.endsWith('_IN_PROGRESS') && s.StackStatus !== 'DELETE_IN_PROGRESS')
      throw Object.assign(
        new Error(`Stack [${i.StackName}] cannot be deleted while in status ${s.StackStatus}`),
        { name: 'ValidationError' },
      );
    did('DeleteStack', i.StackName);
    w.stacks = w.stacks.filter((x) => x.StackName !== i.StackName);
    return {};
  });

  tagging.on(GetResourcesCommand).callsFake((i: { ResourceTypeFilters?: string[] }) => {
    const type = i.ResourceTypeFilters?.[0];
    const list =
      type === 's3'
        ? w.buckets.map((b) => ({ ResourceARN: `arn:aws:s3:::${b.name}`, Tags: b.Tags }))
        : w.logGroups.map((g) => ({
            ResourceARN: `arn:aws:logs:us-east-1:000000000000:log-group:${g.name}`,
            Tags: g.Tags,
          }));
    return {
      ResourceTagMappingList: list.filter(
        (m) => ig || m.Tags.some((t) => t.Key === 'benchfleet:project' && t.Value === 'benchfleet'),
      ),
    };
  });
  s3.on(HeadBucketCommand).callsFake((i: { Bucket?: string }) => {
    if (!w.buckets.some((b) => b.name === i.Bucket))
      throw Object.assign(new Error('not found'), { name: 'NotFound' });
    return {};
  });
  s3.on(ListObjectVersionsCommand).callsFake((i: { Bucket?: string }) => {
    const b = w.buckets.find((x) => x.name === i.Bucket);
    return {
      Versions: Array.from({ length: b?.objects ?? 0 }, (_, n) => ({ Key: `k${n}`, VersionId: `v${n}` })),
      IsTruncated: false,
    };
  });
  s3.on(DeleteObjectsCommand).callsFake((i: { Bucket?: string }) => {
    did('DeleteObjects', i.Bucket);
    for (const b of w.buckets) if (b.name === i.Bucket) b.objects = 0;
    return {};
  });
  s3.on(DeleteBucketCommand).callsFake((i: { Bucket?: string }) => {
    did('DeleteBucket', i.Bucket);
    const b = w.buckets.find((x) => x.name === i.Bucket);
    if (b && b.objects > 0) throw Object.assign(new Error('bucket not empty'), { name: 'BucketNotEmpty' });
    w.buckets = w.buckets.filter((x) => x.name !== i.Bucket);
    return {};
  });
  logs.on(DescribeLogGroupsCommand).callsFake((i: { logGroupNamePrefix?: string }) => ({
    logGroups: w.logGroups
      .filter((g) => ig || g.name.startsWith(i.logGroupNamePrefix ?? ''))
      .map((g) => ({ logGroupName: g.name })),
  }));
  logs.on(DeleteLogGroupCommand).callsFake((i: { logGroupName?: string }) => {
    did('DeleteLogGroup', i.logGroupName);
    w.logGroups = w.logGroups.filter((g) => g.name !== i.logGroupName);
    return {};
  });
}
