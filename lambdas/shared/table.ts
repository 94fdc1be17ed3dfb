// The DynamoDB model, defined once: the CDK table, the local mode's CreateTable and the adapter all
// read it from here.
//
// One table, three kinds of item:
//   pk=META        sk=CURRENT     the pointer to the newest run and whether it is active
//   pk=RUN#<id>    sk=RUN         the run: config, status, claim queues and the per-status sets
//   pk=RUN#<id>    sk=TASK#<n>    one task (n = zero-padded index within the run)
// and one sparse GSI, `active`, that holds only the tasks the reaper must look at: claimed and
// running tasks, tasks waiting for a retry, and finished tasks whose run-level bookkeeping is not
// done yet. The reaper queries it; nothing scans the table.

export const DEFAULT_TABLE_NAME = 'benchfleet';

export const KEY = { pk: 'pk', sk: 'sk' } as const;
export const ACTIVE_INDEX = { name: 'active', pk: 'active_pk', sk: 'active_sk' } as const;

export const keys = {
  pointer: () => ({ pk: 'META', sk: 'CURRENT' }),
  run: (runId: number) => ({ pk: `RUN#${runId}`, sk: 'RUN' }),
  task: (runId: number, index: number) => ({
    pk: `RUN#${runId}`,
    sk: `TASK#${String(index).padStart(6, '0')}`,
  }),
  taskPrefix: 'TASK#',
  runPartition: (runId: number) => `RUN#${runId}`,
  activePartition: (runId: number) => `RUN#${runId}`,
};

/** The attribute definitions and key schema as CreateTable (and CDK) want them. */
export const TABLE_SCHEMA = {
  attributeDefinitions: [
    { AttributeName: KEY.pk, AttributeType: 'S' },
    { AttributeName: KEY.sk, AttributeType: 'S' },
    { AttributeName: ACTIVE_INDEX.pk, AttributeType: 'S' },
    { AttributeName: ACTIVE_INDEX.sk, AttributeType: 'N' },
  ],
  keySchema: [
    { AttributeName: KEY.pk, KeyType: 'HASH' },
    { AttributeName: KEY.sk, KeyType: 'RANGE' },
  ],
  globalSecondaryIndexes: [
    {
      IndexName: ACTIVE_INDEX.name,
      KeySchema: [
        { AttributeName: ACTIVE_INDEX.pk, KeyType: 'HASH' },
        { AttributeName: ACTIVE_INDEX.sk, KeyType: 'RANGE' },
      ],
      Projection: { ProjectionType: 'ALL' },
    },
  ],
} as const;

/** Run-item attribute names for the claim queue of one (provider, instance type). */
export const queueAttrs = (provider: string, instanceType: string) => ({
  /** next index to hand out; a claim takes a ticket with `ADD next 1` guarded by `next < end` */
  next: `q_next:${provider}:${instanceType}`,
  /** one past the last index of this queue */
  end: `q_end:${provider}:${instanceType}`,
  /** indices below this were checked by the reaper for a claim that died between its two writes */
  verified: `q_verified:${provider}:${instanceType}`,
  /** tasks waiting for another attempt, as `gen * 100000 + index` numbers */
  retry: `q_retry:${provider}:${instanceType}`,
  /** true once the reaper failed this queue as `no_runner` */
  noRunner: `q_norunner:${provider}:${instanceType}`,
  /**
   * the reaper's mark of a queue that looked abandoned: the `next` it saw, and when (ISO); a claim
   * voids it (a ticket moves `next`, a retry taken removes the mark)
   */
  idleNext: `q_idlenext:${provider}:${instanceType}`,
  idleAt: `q_idleat:${provider}:${instanceType}`,
});

/** Run-item number sets of task indices, the source of the per-status counts of GET /run. */
export const SET_ATTRS = {
  running: 's_running',
  completed: 's_completed',
  failed: 's_failed',
  cancelled: 's_cancelled',
} as const;

export const RETRY_GEN_FACTOR = 100_000;
