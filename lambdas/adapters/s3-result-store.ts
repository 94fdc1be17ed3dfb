// ResultStore over S3 (real S3 in the cloud, s3rver locally: same client, another endpoint).
import type { Readable } from 'node:stream';
import {
  GetObjectCommand,
  getSignedUrl,
  HeadObjectCommand,
  NoSuchKey,
  NotFound,
  PutObjectCommand,
  type S3Client,
  type S3ClientConfig,
  Upload,
} from '@benchfleet/aws-sdk';
import type { ResultStore } from '../core/ports';
import { adaptClient } from './sdk-client';

/**
 * S3 client options every Benchfleet client uses. `WHEN_REQUIRED`: with the SDK's default a
 * streamed PutObject is stored with its chunk framing by s3rver, and presigned PUT URLs carry a
 * CRC32 of an empty body that real S3 rejects (LOCAL-STACK.md). cacheMiddleware: each command's
 * middleware is resolved once per client, not on every call (about 1 ms of CPU per HEAD); nothing
 * here adds middleware to a single command (the presigner resolves its own stack).
 */
export function s3ClientConfig(extra: S3ClientConfig = {}): S3ClientConfig {
  return {
    cacheMiddleware: true,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    ...extra,
  };
}

const isMissing = (err: unknown): boolean =>
  err instanceof NoSuchKey ||
  err instanceof NotFound ||
  (err as { name?: string }).name === 'NotFound' ||
  (err as { name?: string }).name === 'NoSuchKey' ||
  (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404;

export class S3ResultStore implements ResultStore {
  constructor(
    private readonly client: S3Client,
    private readonly bucket: string,
    /** part size of multipart uploads; memory of an upload is about queueSize * partSize */
    private readonly partSize = 8 * 1024 * 1024,
  ) {
    adaptClient(client);
  }

  presignPut(key: string, expiresInSeconds: number): Promise<string> {
    return getSignedUrl(this.client, new PutObjectCommand({ Bucket: this.bucket, Key: key }), {
      expiresIn: expiresInSeconds,
    });
  }

  presignGet(key: string, expiresInSeconds: number): Promise<string> {
    return getSignedUrl(this.client, new GetObjectCommand({ Bucket: this.bucket, Key: key }), {
      expiresIn: expiresInSeconds,
    });
  }

  async exists(key: string): Promise<boolean> {
    try {
      await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      return true;
    } catch (err) {
      if (isMissing(err)) return false;
      throw err;
    }
  }

  async getStream(key: string): Promise<Readable | undefined> {
    try {
      const out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      return out.Body as Readable;
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw err;
    }
  }

  async putStream(key: string, body: Readable, contentType: string): Promise<void> {
    const upload = new Upload({
      client: this.client,
      params: { Bucket: this.bucket, Key: key, Body: body, ContentType: contentType },
      partSize: this.partSize,
      queueSize: 2,
      leavePartsOnError: false,
    });
    await upload.done();
  }

  async putText(key: string, text: string, contentType: string): Promise<void> {
    await this.client.send(
      new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: text, ContentType: contentType }),
    );
  }

  async getText(key: string): Promise<string | undefined> {
    const stream = await this.getStream(key);
    if (!stream) return undefined;
    const chunks: Buffer[] = [];
    for await (const chunk of stream) chunks.push(Buffer.from(chunk as Uint8Array));
    return Buffer.concat(chunks).toString('utf8');
  }
}
