// A region's availability zones for preflight's placement, on an EC2 mock: DescribeAvailabilityZones
// honours its zone-type and state filters, DescribeInstanceTypeOfferings its instance-type filter
// and answers one offering a page. Apart from fake-aws.ts because importing that one mocks S3 for
// the whole file, and `start` runs against the real in-process local stack.
import * as E from '@aws-sdk/client-ec2';
import type { AwsStub } from 'aws-sdk-client-mock';

type Ec2Mock = AwsStub<E.ServiceInputTypes, E.ServiceOutputTypes, E.EC2ClientResolvedConfig>;
type Filters = Array<{ Name?: string; Values?: string[] }> | undefined;

const values = (filters: Filters, name: string): string[] | undefined =>
  filters?.find((f) => f.Name === name)?.Values;

/** `offers`: zone -> the instance types it offers. A Local Zone is listed too, as AWS lists it. */
export function installZones(ec2: Ec2Mock, offers: Record<string, string[]>): void {
  const zones = [
    ...Object.keys(offers).map((ZoneName) => ({
      ZoneName,
      ZoneType: 'availability-zone',
      State: 'available',
    })),
    { ZoneName: 'us-east-1-bos-1a', ZoneType: 'local-zone', State: 'available' },
  ];
  ec2.on(E.DescribeAvailabilityZonesCommand).callsFake((i: E.DescribeAvailabilityZonesCommandInput) => ({
    AvailabilityZones: zones.filter(
      (z) =>
        (values(i.Filters, 'zone-type') ?? [z.ZoneType]).includes(z.ZoneType) &&
        (values(i.Filters, 'state') ?? [z.State]).includes(z.State),
    ),
  }));
  ec2
    .on(E.DescribeInstanceTypeOfferingsCommand)
    .callsFake((i: E.DescribeInstanceTypeOfferingsCommandInput) => {
      if (i.LocationType !== 'availability-zone') return { InstanceTypeOfferings: [] };
      const wanted = values(i.Filters, 'instance-type');
      const list = Object.entries(offers)
        .flatMap(([Location, types]) =>
          types.map((InstanceType) => ({ InstanceType, Location, LocationType: 'availability-zone' })),
        )
        .filter((o) => !wanted || wanted.includes(o.InstanceType));
      const at = Number(i.NextToken ?? 0);
      return {
        InstanceTypeOfferings: list.slice(at, at + 1),
        ...(at + 1 < list.length && { NextToken: String(at + 1) }),
      };
    });
}
