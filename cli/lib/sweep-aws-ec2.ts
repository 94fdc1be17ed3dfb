// EC2 resources tagged benchfleet:project, in an order AWS accepts: instances (waited for),
// NAT gateways (waited for), elastic IPs, network interfaces, volumes, security groups, internet
// gateways, subnets, route tables, VPCs. Each list is filtered by tag in the API call and checked
// again here, so an untagged resource is never deleted even if a filter were ignored.
import {
  DeleteInternetGatewayCommand,
  DeleteNatGatewayCommand,
  DeleteNetworkInterfaceCommand,
  DeleteRouteTableCommand,
  DeleteSecurityGroupCommand,
  DeleteSubnetCommand,
  DeleteVolumeCommand,
  DeleteVpcCommand,
  DescribeAddressesCommand,
  DescribeInstancesCommand,
  DescribeInternetGatewaysCommand,
  DescribeNatGatewaysCommand,
  DescribeNetworkInterfacesCommand,
  DescribeRouteTablesCommand,
  DescribeSecurityGroupsCommand,
  DescribeSubnetsCommand,
  DescribeVolumesCommand,
  DescribeVpcsCommand,
  DetachInternetGatewayCommand,
  DisassociateAddressCommand,
  type EC2Client,
  type Filter,
  type IpPermission,
  ReleaseAddressCommand,
  RevokeSecurityGroupEgressCommand,
  RevokeSecurityGroupIngressCommand,
  type Tag,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import { type Resource, type SweepStep, TAG_KEY, waitUntil } from './sweep';

export const tagged = (tags: Tag[] | undefined, project: string): boolean =>
  (tags ?? []).some((t) => t.Key === TAG_KEY && t.Value === project);

const nameOf = (tags: Tag[] | undefined): string | undefined => tags?.find((t) => t.Key === 'Name')?.Value;

async function pages<T>(
  fetch: (token?: string) => Promise<{ items: T[]; next?: string | undefined }>,
): Promise<T[]> {
  const all: T[] = [];
  let token: string | undefined;
  do {
    const page = await fetch(token);
    all.push(...page.items);
    token = page.next;
  } while (token);
  return all;
}

const WAIT_MS = 15 * 60_000;

export function ec2Steps(ec2: EC2Client, project: string): SweepStep[] {
  const Filters: Filter[] = [{ Name: `tag:${TAG_KEY}`, Values: [project] }];
  const res = (kind: string, id: string | undefined, note?: string): Resource => ({
    provider: 'aws',
    kind,
    id: id ?? '?',
    ...(note && { note }),
  });
  const token = (t?: string) => (t ? { NextToken: t } : {});

  return [
    {
      provider: 'aws',
      kind: 'instance',
      find: async () =>
        (
          await pages(async (t) => {
            const p = await ec2.send(new DescribeInstancesCommand({ Filters, ...token(t) }));
            return { items: (p.Reservations ?? []).flatMap((r) => r.Instances ?? []), next: p.NextToken };
          })
        )
          .filter((i) => tagged(i.Tags, project) && i.State?.Name !== 'terminated')
          .map((i) =>
            res(
              'instance',
              i.InstanceId,
              [i.InstanceType, i.State?.Name, nameOf(i.Tags)].filter(Boolean).join(', '),
            ),
          ),
      remove: async (r) => {
        await ec2.send(new TerminateInstancesCommand({ InstanceIds: [r.id] }));
      },
      // Their volumes and network interfaces go with them; later steps see what remains.
      settle: (removed) =>
        waitUntil(
          `${removed.length} instance(s) to terminate`,
          async () => {
            const p = await ec2.send(new DescribeInstancesCommand({ InstanceIds: removed.map((r) => r.id) }));
            const states = (p.Reservations ?? []).flatMap((x) => x.Instances ?? []).map((i) => i.State?.Name);
            return states.every((s) => s === 'terminated');
          },
          WAIT_MS,
        ),
    },
    {
      provider: 'aws',
      kind: 'nat-gateway',
      find: async () =>
        (
          await pages(async (t) => {
            const p = await ec2.send(new DescribeNatGatewaysCommand({ Filter: Filters, ...token(t) }));
            return { items: p.NatGateways ?? [], next: p.NextToken };
          })
        )
          .filter((n) => tagged(n.Tags, project) && n.State !== 'deleted')
          .map((n) => res('nat-gateway', n.NatGatewayId, n.State)),
      remove: async (r) => {
        await ec2.send(new DeleteNatGatewayCommand({ NatGatewayId: r.id }));
      },
      // A NAT gateway holds its elastic IP and network interface until it is fully deleted.
      settle: (removed) =>
        waitUntil(
          `${removed.length} NAT gateway(s) to be deleted`,
          async () => {
            const p = await ec2.send(
              new DescribeNatGatewaysCommand({ NatGatewayIds: removed.map((r) => r.id) }),
            );
            return (p.NatGateways ?? []).every((n) => n.State === 'deleted' || n.State === 'failed');
          },
          WAIT_MS,
        ),
    },
    {
      provider: 'aws',
      kind: 'elastic-ip',
      find: async () =>
        ((await ec2.send(new DescribeAddressesCommand({ Filters }))).Addresses ?? [])
          .filter((a) => tagged(a.Tags, project))
          .map((a) => ({
            ...res('elastic-ip', a.AllocationId, a.PublicIp),
            ...(a.AssociationId && { note: `${a.PublicIp}, association ${a.AssociationId}` }),
          })),
      remove: async (r) => {
        const association = /association (\S+)/.exec(r.note ?? '')?.[1];
        if (association) await ec2.send(new DisassociateAddressCommand({ AssociationId: association }));
        await ec2.send(new ReleaseAddressCommand({ AllocationId: r.id }));
      },
    },
    {
      provider: 'aws',
      kind: 'network-interface',
      find: async () =>
        (
          await pages(async (t) => {
            const p = await ec2.send(new DescribeNetworkInterfacesCommand({ Filters, ...token(t) }));
            return { items: p.NetworkInterfaces ?? [], next: p.NextToken };
          })
        )
          .filter((n) => tagged(n.TagSet, project))
          .map((n) => res('network-interface', n.NetworkInterfaceId, n.Status)),
      remove: async (r) => {
        await ec2.send(new DeleteNetworkInterfaceCommand({ NetworkInterfaceId: r.id }));
      },
    },
    {
      provider: 'aws',
      kind: 'volume',
      find: async () =>
        (
          await pages(async (t) => {
            const p = await ec2.send(new DescribeVolumesCommand({ Filters, ...token(t) }));
            return { items: p.Volumes ?? [], next: p.NextToken };
          })
        )
          .filter((v) => tagged(v.Tags, project) && v.State !== 'deleted' && v.State !== 'deleting')
          .map((v) => res('volume', v.VolumeId, v.State)),
      remove: async (r) => {
        await ec2.send(new DeleteVolumeCommand({ VolumeId: r.id }));
      },
    },
    {
      provider: 'aws',
      kind: 'security-group',
      find: async () =>
        (
          await pages(async (t) => {
            const p = await ec2.send(new DescribeSecurityGroupsCommand({ Filters, ...token(t) }));
            return { items: p.SecurityGroups ?? [], next: p.NextToken };
          })
        )
          // A VPC's default group cannot be deleted; it goes with its VPC.
          .filter((g) => tagged(g.Tags, project) && g.GroupName !== 'default')
          .map((g) => res('security-group', g.GroupId, g.GroupName)),
      // Groups that reference each other cannot be deleted until those rules are gone.
      prepare: async (found) => {
        const p = await ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: found.map((r) => r.id) }));
        for (const g of p.SecurityGroups ?? []) {
          if (!tagged(g.Tags, project) || !g.GroupId) continue;
          const refs = (perms: IpPermission[] | undefined) =>
            (perms ?? []).filter((perm) => (perm.UserIdGroupPairs ?? []).length > 0);
          const ingress = refs(g.IpPermissions);
          const egress = refs(g.IpPermissionsEgress);
          if (ingress.length) {
            await ec2.send(
              new RevokeSecurityGroupIngressCommand({ GroupId: g.GroupId, IpPermissions: ingress }),
            );
          }
          if (egress.length) {
            await ec2.send(
              new RevokeSecurityGroupEgressCommand({ GroupId: g.GroupId, IpPermissions: egress }),
            );
          }
        }
      },
      remove: async (r) => {
        await ec2.send(new DeleteSecurityGroupCommand({ GroupId: r.id }));
      },
    },
    {
      provider: 'aws',
      kind: 'internet-gateway',
      find: async () =>
        (
          await pages(async (t) => {
            const p = await ec2.send(new DescribeInternetGatewaysCommand({ Filters, ...token(t) }));
            return { items: p.InternetGateways ?? [], next: p.NextToken };
          })
        )
          .filter((g) => tagged(g.Tags, project))
          .map((g) =>
            res(
              'internet-gateway',
              g.InternetGatewayId,
              (g.Attachments ?? []).map((a) => a.VpcId).join(' ') || undefined,
            ),
          ),
      remove: async (r) => {
        for (const vpc of (r.note ?? '').split(' ').filter(Boolean)) {
          await ec2.send(new DetachInternetGatewayCommand({ InternetGatewayId: r.id, VpcId: vpc }));
        }
        await ec2.send(new DeleteInternetGatewayCommand({ InternetGatewayId: r.id }));
      },
    },
    {
      provider: 'aws',
      kind: 'subnet',
      find: async () =>
        (
          await pages(async (t) => {
            const p = await ec2.send(new DescribeSubnetsCommand({ Filters, ...token(t) }));
            return { items: p.Subnets ?? [], next: p.NextToken };
          })
        )
          .filter((s) => tagged(s.Tags, project))
          .map((s) => res('subnet', s.SubnetId, s.CidrBlock)),
      remove: async (r) => {
        await ec2.send(new DeleteSubnetCommand({ SubnetId: r.id }));
      },
    },
    {
      provider: 'aws',
      kind: 'route-table',
      find: async () =>
        (
          await pages(async (t) => {
            const p = await ec2.send(new DescribeRouteTablesCommand({ Filters, ...token(t) }));
            return { items: p.RouteTables ?? [], next: p.NextToken };
          })
        )
          // The main route table goes with its VPC and cannot be deleted alone.
          .filter((rt) => tagged(rt.Tags, project) && !(rt.Associations ?? []).some((a) => a.Main))
          .map((rt) => res('route-table', rt.RouteTableId, rt.VpcId)),
      remove: async (r) => {
        await ec2.send(new DeleteRouteTableCommand({ RouteTableId: r.id }));
      },
    },
    {
      provider: 'aws',
      kind: 'vpc',
      find: async () =>
        (
          await pages(async (t) => {
            const p = await ec2.send(new DescribeVpcsCommand({ Filters, ...token(t) }));
            return { items: p.Vpcs ?? [], next: p.NextToken };
          })
        )
          .filter((v) => tagged(v.Tags, project))
          .map((v) => res('vpc', v.VpcId, v.CidrBlock)),
      remove: async (r) => {
        await ec2.send(new DeleteVpcCommand({ VpcId: r.id }));
      },
    },
  ];
}
