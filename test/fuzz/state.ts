// The raw state of the local stack, as the fuzz compares it around every request: every item of
// the local stack's DynamoDB table (a full Scan through the real SDK client against dynalite, every
// attribute) and every object of its S3 bucket (key, size, ETag). Nothing goes through the API, so a
// change the API does not show (a fence generation, a refund, a queue mark, a stray object) is seen.
// That no table or bucket comes or goes is checked apart (`containers`), less often: it costs two
// more calls.
import {
  type AttributeValue,
  DeleteItemCommand,
  GetItemCommand,
  ListTablesCommand,
  PutItemCommand,
  ScanCommand,
} from '@aws-sdk/client-dynamodb';
import { ListBucketsCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import type { LocalServices } from '../../lambdas/adapters/local/services';
import { KEY } from '../../lambdas/shared/table';

type Item = Record<string, AttributeValue>;

export interface RawState {
  /** `table pk sk` -> the item as stored, every attribute */
  items: Map<string, { table: string; item: Item; canon: string }>;
  /** `bucket/key` -> `size etag` */
  objects: Map<string, string>;
}

export interface Change {
  where: 'item' | 'object';
  key: string;
  kind: 'added' | 'removed' | 'changed';
  /** for a changed item: the attributes that differ */
  attrs?: string[];
}

const bytes = (b: Uint8Array): string => Buffer.from(b).toString('base64');

/** One attribute value in a canonical form: sets sorted, binary as base64. */
function canonValue(v: AttributeValue): unknown {
  if (v.S !== undefined) return { S: v.S };
  if (v.N !== undefined) return { N: v.N };
  if (v.BOOL !== undefined) return { BOOL: v.BOOL };
  if (v.NULL !== undefined) return { NULL: v.NULL };
  if (v.B !== undefined) return { B: bytes(v.B) };
  if (v.SS !== undefined) return { SS: [...v.SS].sort() };
  if (v.NS !== undefined)
    return { NS: [...v.NS].sort((a, b) => Number(a) - Number(b) || a.localeCompare(b)) };
  if (v.BS !== undefined) return { BS: v.BS.map(bytes).sort() };
  if (v.L !== undefined) return { L: v.L.map(canonValue) };
  if (v.M !== undefined) return { M: canonItem(v.M) };
  return { unknown: Object.keys(v) };
}

function canonItem(item: Item): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const name of Object.keys(item).sort()) out[name] = canonValue(item[name] as AttributeValue);
  return out;
}

const itemKey = (table: string, item: Item): string =>
  `${table} ${item[KEY.pk]?.S ?? JSON.stringify(item[KEY.pk])} ${item[KEY.sk]?.S ?? JSON.stringify(item[KEY.sk])}`;

/** Scans the stack's table and lists its bucket (the names the local stack made them with). */
export async function rawState(services: LocalServices): Promise<RawState> {
  const items: RawState['items'] = new Map();
  const objects: RawState['objects'] = new Map();
  const table = services.table;
  const bucket = services.bucket;
  await Promise.all([
    (async () => {
      let start: Item | undefined;
      do {
        const out = await services.ddb.send(
          new ScanCommand({ TableName: table, ConsistentRead: true, ExclusiveStartKey: start }),
        );
        for (const item of out.Items ?? []) {
          items.set(itemKey(table, item), { table, item, canon: JSON.stringify(canonItem(item)) });
        }
        start = out.LastEvaluatedKey;
      } while (start);
    })(),
    (async () => {
      let token: string | undefined;
      do {
        const out = await services.s3.send(
          new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }),
        );
        for (const o of out.Contents ?? []) objects.set(`${bucket}/${o.Key}`, `${o.Size} ${o.ETag}`);
        token = out.IsTruncated ? out.NextContinuationToken : undefined;
      } while (token);
    })(),
  ]);
  return { items, objects };
}

/** Every table and bucket of the stand-ins, by name. */
export async function containers(services: LocalServices): Promise<string> {
  const tables: string[] = [];
  let start: string | undefined;
  do {
    const out = await services.ddb.send(new ListTablesCommand({ ExclusiveStartTableName: start }));
    tables.push(...(out.TableNames ?? []));
    start = out.LastEvaluatedTableName;
  } while (start);
  const buckets = (await services.s3.send(new ListBucketsCommand({}))).Buckets ?? [];
  return JSON.stringify({ tables: tables.sort(), buckets: buckets.map((b) => b.Name).sort() });
}

/** What differs between two states (empty: the same). */
export function diff(before: RawState, after: RawState): Change[] {
  const changes: Change[] = [];
  for (const [key, b] of before.items) {
    const a = after.items.get(key);
    if (!a) changes.push({ where: 'item', key, kind: 'removed' });
    else if (a.canon !== b.canon) {
      const names = new Set([...Object.keys(a.item), ...Object.keys(b.item)]);
      const attrs = [...names]
        .filter(
          (n) =>
            JSON.stringify(b.item[n] && canonValue(b.item[n])) !==
            JSON.stringify(a.item[n] && canonValue(a.item[n])),
        )
        .sort();
      changes.push({ where: 'item', key, kind: 'changed', attrs });
    }
  }
  for (const key of after.items.keys())
    if (!before.items.has(key)) changes.push({ where: 'item', key, kind: 'added' });
  for (const [key, b] of before.objects) {
    const a = after.objects.get(key);
    if (a === undefined) changes.push({ where: 'object', key, kind: 'removed' });
    else if (a !== b) changes.push({ where: 'object', key, kind: 'changed' });
  }
  for (const key of after.objects.keys())
    if (!before.objects.has(key)) changes.push({ where: 'object', key, kind: 'added' });
  return changes;
}

export const describeChanges = (changes: Change[]): string =>
  changes.map((c) => `${c.where} ${c.key} ${c.kind}${c.attrs ? ` (${c.attrs.join(', ')})` : ''}`).join('; ');

/** The table key of an item as `diff` names it. */
export const keyOf = (table: string, key: { pk: string; sk: string }): string =>
  `${table} ${key.pk} ${key.sk}`;

/**
 * Puts the table back as it was in `before` (a legitimate write's effects, once checked, are undone
 * so every request meets the same state), and reads each item put back to make sure. Objects cannot
 * be put back: no accepted request may touch S3, and the caller refuses any change there first.
 */
export async function restoreItems(
  services: LocalServices,
  before: RawState,
  after: RawState,
): Promise<void> {
  for (const c of diff(before, after)) {
    if (c.where !== 'item') throw new Error(`cannot restore ${c.where} ${c.key} (${c.kind})`);
    const { table, item } = (before.items.get(c.key) ?? after.items.get(c.key))!;
    const key = { [KEY.pk]: item[KEY.pk]!, [KEY.sk]: item[KEY.sk]! };
    if (c.kind === 'added') await services.ddb.send(new DeleteItemCommand({ TableName: table, Key: key }));
    else await services.ddb.send(new PutItemCommand({ TableName: table, Item: item }));
    const back = await services.ddb.send(
      new GetItemCommand({ TableName: table, Key: key, ConsistentRead: true }),
    );
    const want = before.items.get(c.key)?.canon;
    const got = back.Item && JSON.stringify(canonItem(back.Item));
    if (got !== want) throw new Error(`${c.key} was not put back: ${got} instead of ${want}`);
  }
}
