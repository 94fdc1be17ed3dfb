// Every AWS SDK value the Lambda code uses, and the only place it imports the SDK from. Lambda code
// imports this module as `@benchfleet/aws-sdk` (tsconfig `paths`), so a deployment can build it once
// into a layer shared by every function (lib/constructs/aws-sdk-layer.ts): the lockfile's SDK,
// tree-shaken and minified, instead of ~550 KB of it inside each function's bundle.
// Locally (tests, the local mode, the CLI) the name resolves to this file.
// Only `export { Name } from 'package'` here: the layer turns each into a getter that loads the
// package on first use (lib/bundling.ts: lazySdkEntry), so a function loads only the clients it uses.
export {
  type AttributeValue,
  BatchGetItemCommand,
  BatchWriteItemCommand,
  ConditionalCheckFailedException,
  DeleteItemCommand,
  DynamoDBClient,
  type DynamoDBClientConfig,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
export { DisableRuleCommand, EnableRuleCommand, EventBridgeClient } from '@aws-sdk/client-eventbridge';
export {
  GetObjectCommand,
  HeadObjectCommand,
  NoSuchKey,
  NotFound,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
export { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
export { ExecutionAlreadyExists, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
export { Upload } from '@aws-sdk/lib-storage';
export { getSignedUrl } from '@aws-sdk/s3-request-presigner';
export { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
