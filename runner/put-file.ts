// A PUT of a file to a presigned URL, streamed from disk with its length (S3 takes no chunked PUT).
// Not fetch: Node 20's fetch (undici 6) holds a streamed request body in memory whole, so a large
// result tarball would cost its size in RAM (and more than 2 GiB could not be sent at all).
import { createReadStream } from 'node:fs';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { pipeline } from 'node:stream/promises';

/**
 * A PUT that has sent nothing more and had no answer for this long has stalled (a dead link, a
 * server that stopped reading): it fails, and the upload's retries take over. It is a stall limit,
 * not a total one: a total one caps the size that can be sent (120 s was about 2 GiB on a normal
 * link) and fails slow links. No overall ceiling: a slow upload that moves is the result of hours
 * of benchmarking, heartbeats keep its task alive meanwhile, and a cancel or a stop still ends it
 * (the caller's signal, capped by its stop grace).
 */
export const PUT_STALL_S = 120;

/** Nothing was sent and no answer came for the stall limit. */
export class PutStalledError extends Error {
  override name = 'PutStalledError';
}

export interface PutOptions {
  /** The stall limit in ms; PUT_STALL_S by default. */
  stallMs?: number;
  /** How many 307/308 redirects may still be followed; 1 by default. */
  redirects?: number;
}

/** The answer's status code; rejects on a network error, a stall, a file that cannot be read, or `signal`. */
export async function putFile(
  url: string,
  file: string,
  size: number,
  contentType: string,
  signal: AbortSignal,
  opts: PutOptions = {},
): Promise<number> {
  const stallMs = opts.stallMs ?? PUT_STALL_S * 1000;
  const redirects = opts.redirects ?? 1;
  const u = new URL(url);
  const request = u.protocol === 'https:' ? httpsRequest : httpRequest;
  const req = request(u, {
    method: 'PUT',
    headers: { 'content-type': contentType, 'content-length': String(size) },
    signal,
  });
  let sentBytes = 0;
  const stall = setTimeout(() => {
    const s = stallMs / 1000;
    req.destroy(
      new PutStalledError(
        `the PUT to ${u.host} stalled: nothing sent and no answer for ${s} s, after ${sentBytes} of ${size} bytes`,
      ),
    );
  }, stallMs);
  // Progress is a chunk taken by the connection: the pipeline pulls the next one only once the
  // socket drained the last (backpressure), so a server that stops reading stops it.
  const counted = async function* (chunks: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
    for await (const c of chunks) {
      stall.refresh();
      sentBytes += c.length;
      yield c;
    }
  };
  try {
    const answered = new Promise<IncomingMessage>((resolve, reject) => {
      req.once('response', resolve);
      req.once('error', reject);
    });
    const sent = pipeline(createReadStream(file), counted, req);
    // observed at once: a refusal may come (and the connection close) before the body is all sent
    sent.catch(() => undefined);
    const res = await answered;
    stall.refresh();
    res.resume();
    const status = res.statusCode ?? 0;
    // a success counts only once the whole file has gone
    if (status >= 200 && status < 300) {
      await sent;
      return status;
    }
    // A refusal can come before the body is all sent: stop sending it (a retry must not race it).
    req.destroy();
    clearTimeout(stall);
    // S3 may send a PUT elsewhere (307/308, e.g. a bucket's region): the file is sent again there.
    const location = res.headers.location;
    if ((status === 307 || status === 308) && location && redirects > 0) {
      const next = new URL(location, u).toString();
      return await putFile(next, file, size, contentType, signal, { stallMs, redirects: redirects - 1 });
    }
    return status;
  } finally {
    clearTimeout(stall);
  }
}
