// What each Lambda uses, read off lambdas/core (which port methods its code path calls), and the
// grants that follow. One table, so a reviewer checks least privilege in one place:
// - every HTTP route reads both API keys (httpRoute compares the Bearer token against both);
// - `startsAssembly`: the transition that drains a run starts the workflow (complete, fail, stop,
//   the reaper, POST /run/assemble, and a start that finds it was stopped while writing its tasks);
// - `switchesReaper`: start and re-assemble enable the schedule, the end of a run disables it.
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import type { HandlerName } from '../lambdas/shared/routes';
import type { NodeFunction, TableMode } from './constructs/node-function';

/** S3 uses, each a set of object-key patterns under the results bucket. */
export type ResultsUse =
  | 'presign-task-uploads' // claim, upload-urls: PUT URLs for result.tar.gz / error.tar.gz
  | 'check-task-files' // complete, fail: HeadObject on the task's files
  | 'presign-archive' // GET /run: a fresh download URL of results.tar.gz
  | 'write-listing' // ListTasks: the task listing (multipart stream)
  | 'build-archive'; // BuildArchive: read listing and tarballs, write results.tar.gz

export interface Uses {
  /** Absent: no table access and no TABLE_NAME (the `$default` route's not-found function). */
  readonly table?: TableMode;
  readonly readsKeys?: boolean;
  readonly results?: readonly ResultsUse[];
  readonly startsAssembly?: boolean;
  readonly switchesReaper?: boolean;
}

export type StepHandlerName =
  | 'assembly-list-tasks'
  | 'assembly-build-archive'
  | 'assembly-finalize'
  | 'assembly-mark-failed';
export type FunctionName = HandlerName | 'reap' | 'not-found' | StepHandlerName;

export const USES: Readonly<Record<FunctionName, Uses>> = {
  'start-run': { table: 'RWC', readsKeys: true, startsAssembly: true, switchesReaper: true },
  'get-run': { table: 'R', readsKeys: true, results: ['presign-archive'] },
  'list-tasks': { table: 'R', readsKeys: true },
  'stop-run': { table: 'RW', readsKeys: true, startsAssembly: true },
  'assemble-run': { table: 'RW', readsKeys: true, startsAssembly: true, switchesReaper: true },
  'claim-task': { table: 'RW', readsKeys: true, results: ['presign-task-uploads'] },
  'heartbeat-task': { table: 'RW', readsKeys: true },
  'complete-task': { table: 'RW', readsKeys: true, results: ['check-task-files'], startsAssembly: true },
  'fail-task': { table: 'RW', readsKeys: true, results: ['check-task-files'], startsAssembly: true },
  'upload-urls': { table: 'R', readsKeys: true, results: ['presign-task-uploads'] },
  reap: { table: 'RW', startsAssembly: true, switchesReaper: true },
  'not-found': {}, // answers JSON 404s from the route table alone
  'assembly-list-tasks': { table: 'RW', results: ['write-listing'] },
  'assembly-build-archive': { table: 'R', results: ['build-archive'] },
  'assembly-finalize': { table: 'RW', switchesReaper: true },
  'assembly-mark-failed': { table: 'RW', switchesReaper: true },
};

export interface GrantTargets {
  readonly resultsBucket: s3.IBucket;
  readonly keys: readonly ISecret[];
  /** ARN strings built from fixed names: the functions and these resources refer to each other. */
  readonly stateMachineArn: string;
  readonly reaperRuleArn: string;
}

const objects = (bucket: s3.IBucket, ...patterns: string[]): string[] =>
  patterns.map((p) => bucket.arnForObjects(p));

function resultsStatements(bucket: s3.IBucket, use: ResultsUse): iam.PolicyStatement[] {
  const stmt = (actions: string[], resources: string[]): iam.PolicyStatement =>
    new iam.PolicyStatement({ actions, resources });
  // HeadObject/GetObject answer 404 for a missing key only with ListBucket; without it S3 says 403
  // and the adapters could not tell "not uploaded yet" from "forbidden".
  const list = stmt(['s3:ListBucket'], [bucket.bucketArn]);
  switch (use) {
    case 'presign-task-uploads':
      return [stmt(['s3:PutObject'], objects(bucket, 'runs/*/tasks/*'))];
    case 'check-task-files':
      return [stmt(['s3:GetObject'], objects(bucket, 'runs/*/tasks/*')), list];
    case 'presign-archive':
      return [stmt(['s3:GetObject'], objects(bucket, 'runs/*/results.tar.gz'))];
    case 'write-listing':
      return [stmt(['s3:PutObject', 's3:AbortMultipartUpload'], objects(bucket, 'runs/*/assembly/*'))];
    case 'build-archive':
      return [
        stmt(['s3:GetObject'], objects(bucket, 'runs/*')),
        list,
        stmt(['s3:PutObject', 's3:AbortMultipartUpload'], objects(bucket, 'runs/*/results.tar.gz')),
      ];
  }
}

/** Adds exactly the statements `uses` calls for to the function's role (the table via bindTable). */
export function grantUses(fn: NodeFunction, uses: Uses, to: GrantTargets): void {
  for (const use of uses.results ?? []) {
    for (const s of resultsStatements(to.resultsBucket, use)) fn.addToRolePolicy(s);
  }
  if (uses.readsKeys) for (const key of to.keys) key.grantRead(fn);
  if (uses.startsAssembly) {
    fn.addToRolePolicy(
      new iam.PolicyStatement({ actions: ['states:StartExecution'], resources: [to.stateMachineArn] }),
    );
  }
  if (uses.switchesReaper) {
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['events:EnableRule', 'events:DisableRule'],
        resources: [to.reaperRuleArn],
      }),
    );
  }
}
