// Where each AWS instance type of a run goes. Not every availability zone offers every type (new
// families start in a few zones, some zones never get them), and one instance in a zone without
// its type fails the whole fleet stack. So preflight asks EC2 which zones offer the planned types
// and picks one per type; the fleet stack gives its VPC a public subnet in each zone listed here.
import {
  DescribeAvailabilityZonesCommand,
  DescribeInstanceTypeOfferingsCommand,
  EC2Client,
} from '@aws-sdk/client-ec2';
import type { FleetPlan } from '../../lambdas/shared/fleet-plan';
import { noAwsRegionError } from './aws-region';
import { AWS_CREDENTIAL_ERRORS, CliError, CredentialsError, describe, isAwsRegionMissing } from './errors';

/** The fleet VPC's /16 holds sixteen /20 subnets; no region has more zones than that. */
const MAX_ZONES = 16;

export interface ZoneChoice {
  /** Instance type -> the zone its VMs go to. */
  byType: Map<string, string>;
  /** Types no zone of the list offers. */
  missing: string[];
}

/** For each type the first zone (by name) that offers it: the same answer on every run. */
export function chooseZones(
  types: readonly string[],
  zones: readonly string[],
  offered: ReadonlyMap<string, ReadonlySet<string>>,
): ZoneChoice {
  const byType = new Map<string, string>();
  const missing: string[] = [];
  for (const type of types) {
    const zone = [...zones].sort().find((z) => offered.get(type)?.has(z));
    if (zone) byType.set(type, zone);
    else missing.push(type);
  }
  return { byType, missing };
}

/**
 * The plan with a zone for every AWS type and the zones of the VPC (`aws_zones`). A type offered
 * nowhere in the region is a CliError naming it; when EC2 cannot be asked (a missing permission)
 * the plan is returned as it was, with a warning: the VMs then all go to the VPC's first zone.
 */
export async function placeAwsFleet(plan: FleetPlan, warnings: string[]): Promise<FleetPlan> {
  if (plan.aws.length === 0) return plan;
  const ec2 = new EC2Client({});
  try {
    const region = await ec2.config.region().catch(() => 'this region');
    const zones = await regionZones(ec2);
    if (zones.length === 0) {
      warnings.push(`EC2 lists no availability zone in ${region}; every VM goes to the VPC's first zone`);
      return plan;
    }
    const types = plan.aws.map((e) => e.instance_type);
    const { byType, missing } = chooseZones(types, zones, await offerings(ec2, types));
    if (missing.length > 0) {
      throw new CliError(
        `not offered in any availability zone of ${region}: aws:${missing.join(', aws:')}. ` +
          'Check the name (`aws ec2 describe-instance-type-offerings --location-type availability-zone ' +
          `--filters Name=instance-type,Values=${missing[0]}\`), drop the type from the config, or run ` +
          'in a region that offers it (AWS_REGION). Nothing was launched.',
      );
    }
    return {
      ...plan,
      aws: plan.aws.map((e) => ({ ...e, availability_zone: byType.get(e.instance_type) as string })),
      aws_zones: zones,
    };
  } catch (err) {
    if (err instanceof CliError) throw err;
    // not a missing permission but a machine without AWS set up: nothing AWS can be checked or launched
    if (isAwsRegionMissing(err)) {
      throw noAwsRegionError('Preflight could not ask EC2 which availability zones offer the AWS types.');
    }
    if (AWS_CREDENTIAL_ERRORS.includes((err as Error).name)) {
      throw new CredentialsError(describe(err), { cause: err });
    }
    warnings.push(
      `could not read which availability zones offer the AWS types (${describe(err)}); every VM goes to the VPC's first zone`,
    );
    return plan;
  } finally {
    ec2.destroy();
  }
}

/** The region's standard zones this account may use (no Local or Wavelength Zones), by name. */
async function regionZones(ec2: EC2Client): Promise<string[]> {
  const out = await ec2.send(
    new DescribeAvailabilityZonesCommand({
      Filters: [
        { Name: 'zone-type', Values: ['availability-zone'] },
        { Name: 'state', Values: ['available'] },
      ],
    }),
  );
  const names = (out.AvailabilityZones ?? []).flatMap((z) => (z.ZoneName ? [z.ZoneName] : []));
  return [...new Set(names)].sort().slice(0, MAX_ZONES);
}

/** Instance type -> the zones that offer it. */
async function offerings(ec2: EC2Client, types: string[]): Promise<Map<string, Set<string>>> {
  const offered = new Map<string, Set<string>>();
  let token: string | undefined;
  do {
    const page = await ec2.send(
      new DescribeInstanceTypeOfferingsCommand({
        LocationType: 'availability-zone',
        Filters: [{ Name: 'instance-type', Values: types }],
        ...(token && { NextToken: token }),
      }),
    );
    for (const o of page.InstanceTypeOfferings ?? []) {
      if (!o.InstanceType || !o.Location) continue;
      const zones = offered.get(o.InstanceType) ?? new Set<string>();
      zones.add(o.Location);
      offered.set(o.InstanceType, zones);
    }
    token = page.NextToken;
  } while (token);
  return offered;
}
