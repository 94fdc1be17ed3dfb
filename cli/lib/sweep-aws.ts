// The AWS side of nuke beyond EC2: Benchfleet CloudFormation stacks that `cdk destroy` left
// behind, then tagged buckets (emptied first, every version) and log groups. Buckets and log
// groups are listed through the tagging API, whose index lags: a hit is confirmed before it counts.
// Last, the untagged log groups Lambda made for the stacks' CDK custom-resource functions.
import { CloudFormationClient, DeleteStackCommand } from '@aws-sdk/client-cloudformation';
import {
  CloudWatchLogsClient,
  DeleteLogGroupCommand,
  DescribeLogGroupsCommand,
} from '@aws-sdk/client-cloudwatch-logs';
import { EC2Client } from '@aws-sdk/client-ec2';
import {
  GetResourcesCommand,
  ResourceGroupsTaggingAPIClient,
  type ResourceTagMapping,
} from '@aws-sdk/client-resource-groups-tagging-api';
import {
  DeleteBucketCommand,
  DeleteObjectsCommand,
  HeadBucketCommand,
  ListObjectVersionsCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { describeStack, waitUntilSettled } from './cfn-stack';
import { pollMs } from './progress';
import { FLEET_STACK, META_STACK } from './state';
import { log, type Resource, type SweepStep, TAG_KEY, waitUntil } from './sweep';
import { ec2Steps } from './sweep-aws-ec2';

export interface AwsClients {
  ec2: EC2Client;
  cfn: CloudFormationClient;
  s3: S3Client;
  logs: CloudWatchLogsClient;
  tagging: ResourceGroupsTaggingAPIClient;
}

export function awsClients(): AwsClients {
  return {
    ec2: new EC2Client({}),
    cfn: new CloudFormationClient({}),
    s3: new S3Client({ requestChecksumCalculation: 'WHEN_REQUIRED' }),
    logs: new CloudWatchLogsClient({}),
    tagging: new ResourceGroupsTaggingAPIClient({}),
  };
}

/** Every AWS step, in deletion order: stacks first (they own most of it), then strays. */
export function awsSteps(c: AwsClients, project: string): SweepStep[] {
  return [
    stackStep(c.cfn),
    ...ec2Steps(c.ec2, project),
    bucketStep(c, project),
    logGroupStep(c, project),
    lambdaLogGroupStep(c),
  ];
}

const STACKS = [FLEET_STACK, META_STACK];

async function liveStack(cfn: CloudFormationClient, name: string): Promise<string | undefined> {
  return (await describeStack(cfn, name))?.StackStatus;
}

function stackStep(cfn: CloudFormationClient): SweepStep {
  return {
    provider: 'aws',
    kind: 'stack',
    find: async () => {
      const found: Resource[] = [];
      for (const name of STACKS) {
        const status = await liveStack(cfn, name);
        if (status)
          found.push({
            provider: 'aws',
            kind: 'stack',
            id: name,
            note: status,
            deleting: status === 'DELETE_IN_PROGRESS',
          });
      }
      return found;
    },
    remove: async (r) => {
      // refused while a deploy still goes on (cdk destroy's own wait may have run out)
      await waitUntilSettled(cfn, r.id, (line) => log(`  ${line}`), pollMs(10_000));
      await cfn.send(new DeleteStackCommand({ StackName: r.id }));
    },
    settle: (removed) =>
      waitUntil(
        `${removed.map((r) => r.id).join(', ')} to be deleted`,
        async () =>
          (await Promise.all(removed.map((r) => liveStack(cfn, r.id)))).every(
            (s) => s === undefined || s === 'DELETE_FAILED',
          ),
        60 * 60_000,
      ),
  };
}

async function taggedArns(c: AwsClients, project: string, type: string): Promise<ResourceTagMapping[]> {
  const all: ResourceTagMapping[] = [];
  let token: string | undefined;
  do {
    const page = await c.tagging.send(
      new GetResourcesCommand({
        TagFilters: [{ Key: TAG_KEY, Values: [project] }],
        ResourceTypeFilters: [type],
        ...(token && { PaginationToken: token }),
      }),
    );
    all.push(...(page.ResourceTagMappingList ?? []));
    token = page.PaginationToken || undefined;
  } while (token);
  return all.filter((m) => (m.Tags ?? []).some((t) => t.Key === TAG_KEY && t.Value === project));
}

function bucketStep(c: AwsClients, project: string): SweepStep {
  return {
    provider: 'aws',
    kind: 'bucket',
    find: async () => {
      const names = (await taggedArns(c, project, 's3')).map((m) =>
        (m.ResourceARN ?? '').replace(/^arn:[^:]+:s3:::/, ''),
      );
      const live: Resource[] = [];
      for (const name of names.filter(Boolean)) {
        try {
          await c.s3.send(new HeadBucketCommand({ Bucket: name }));
          live.push({ provider: 'aws', kind: 'bucket', id: name });
        } catch (err) {
          const e = err as Error & { $metadata?: { httpStatusCode?: number } };
          if (e.name !== 'NotFound' && e.name !== 'NoSuchBucket' && e.$metadata?.httpStatusCode !== 404)
            throw err;
        }
      }
      return live;
    },
    remove: async (r) => {
      await emptyBucket(c.s3, r.id);
      await c.s3.send(new DeleteBucketCommand({ Bucket: r.id }));
    },
  };
}

/** Deletes every object version and delete marker, a page (at most 1000) at a time. */
async function emptyBucket(s3: S3Client, bucket: string): Promise<void> {
  let keyMarker: string | undefined;
  let versionMarker: string | undefined;
  for (;;) {
    const page = await s3.send(
      new ListObjectVersionsCommand({
        Bucket: bucket,
        ...(keyMarker && { KeyMarker: keyMarker }),
        ...(versionMarker && { VersionIdMarker: versionMarker }),
      }),
    );
    const objects = [...(page.Versions ?? []), ...(page.DeleteMarkers ?? [])]
      .filter((o) => o.Key !== undefined)
      .map((o) => ({ Key: o.Key as string, ...(o.VersionId && { VersionId: o.VersionId }) }));
    if (objects.length) {
      await s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: objects, Quiet: true } }));
    }
    if (!page.IsTruncated) return;
    keyMarker = page.NextKeyMarker;
    versionMarker = page.NextVersionIdMarker;
  }
}

function logGroupStep(c: AwsClients, project: string): SweepStep {
  return {
    provider: 'aws',
    kind: 'log-group',
    find: async () => {
      const names = (await taggedArns(c, project, 'logs:log-group'))
        .map((m) => /:log-group:(.+?)(:\*)?$/.exec(m.ResourceARN ?? '')?.[1])
        .filter((n): n is string => n !== undefined);
      const live: Resource[] = [];
      for (const name of names) {
        const page = await c.logs.send(new DescribeLogGroupsCommand({ logGroupNamePrefix: name }));
        if ((page.logGroups ?? []).some((g) => g.logGroupName === name))
          live.push({ provider: 'aws', kind: 'log-group', id: name });
      }
      return live;
    },
    remove: (r) => deleteLogGroup(c, r.id),
  };
}

/**
 * `/aws/lambda/<stack>-...`: Lambda creates these at run time for the custom-resource functions
 * CDK adds to a stack (bucket deployment, auto-delete objects), so no stack owns them and nothing
 * tags them. Functions CloudFormation names are `<stack>-<id>-<suffix>`, so
 * only the exact stack names followed by `-` match: never `/aws/lambda/BenchfleetOther`.
 */
const STACK_LAMBDA_LOG_PREFIXES = STACKS.map((stack) => `/aws/lambda/${stack}-`);

function lambdaLogGroupStep(c: AwsClients): SweepStep {
  return {
    provider: 'aws',
    kind: 'log-group',
    find: async () => {
      const found: Resource[] = [];
      for (const prefix of STACK_LAMBDA_LOG_PREFIXES) {
        let token: string | undefined;
        do {
          const page = await c.logs.send(
            new DescribeLogGroupsCommand({ logGroupNamePrefix: prefix, ...(token && { nextToken: token }) }),
          );
          for (const g of page.logGroups ?? []) {
            // Checked again here: the prefix is the whole safety of this step.
            if (!g.logGroupName?.startsWith(prefix)) continue;
            if (found.some((r) => r.id === g.logGroupName)) continue;
            found.push({
              provider: 'aws',
              kind: 'log-group',
              id: g.logGroupName,
              note: 'untagged, of a function CDK added to a Benchfleet stack',
            });
          }
          token = page.nextToken;
        } while (token);
      }
      return found;
    },
    remove: (r) => deleteLogGroup(c, r.id),
  };
}

async function deleteLogGroup(c: AwsClients, name: string): Promise<void> {
  try {
    await c.logs.send(new DeleteLogGroupCommand({ logGroupName: name }));
  } catch (err) {
    if ((err as Error).name !== 'ResourceNotFoundException') throw err;
  }
}

export function destroyClients(c: AwsClients): void {
  for (const client of Object.values(c)) client.destroy();
}
