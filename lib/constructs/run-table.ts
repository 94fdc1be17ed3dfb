// The DynamoDB table, built from the shared key schema (lambdas/shared/table.ts) that the local
// mode's CreateTable also reads: on-demand, point-in-time recovery, deletion protection on request.
import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type { Construct } from 'constructs';
import { TABLE_SCHEMA } from '../../lambdas/shared/table';

const attribute = (name: string): dynamodb.Attribute => {
  const def = TABLE_SCHEMA.attributeDefinitions.find((a) => a.AttributeName === name);
  if (!def) throw new Error(`TABLE_SCHEMA defines no attribute ${name}`);
  return {
    name,
    type: def.AttributeType === 'S' ? dynamodb.AttributeType.STRING : dynamodb.AttributeType.NUMBER,
  };
};

const keyOf = (
  schema: ReadonlyArray<{ AttributeName: string; KeyType: 'HASH' | 'RANGE' }>,
  type: 'HASH' | 'RANGE',
): dynamodb.Attribute | undefined => {
  const k = schema.find((s) => s.KeyType === type);
  return k ? attribute(k.AttributeName) : undefined;
};

export interface RunTableProps {
  /** On: the table survives `cdk destroy` and refuses deletion until switched off. */
  readonly deletionProtection: boolean;
}

export function runTable(scope: Construct, id: string, props: RunTableProps): dynamodb.TableV2 {
  const partitionKey = keyOf(TABLE_SCHEMA.keySchema, 'HASH');
  if (!partitionKey) throw new Error('TABLE_SCHEMA has no HASH key');
  return new dynamodb.TableV2(scope, id, {
    partitionKey,
    sortKey: keyOf(TABLE_SCHEMA.keySchema, 'RANGE'),
    billing: dynamodb.Billing.onDemand(),
    pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
    deletionProtection: props.deletionProtection,
    removalPolicy: props.deletionProtection ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    globalSecondaryIndexes: TABLE_SCHEMA.globalSecondaryIndexes.map((gsi) => {
      const pk = keyOf(gsi.KeySchema, 'HASH');
      if (!pk) throw new Error(`index ${gsi.IndexName} has no HASH key`);
      return {
        indexName: gsi.IndexName,
        partitionKey: pk,
        sortKey: keyOf(gsi.KeySchema, 'RANGE'),
        projectionType: dynamodb.ProjectionType.ALL,
      };
    }),
  });
}
