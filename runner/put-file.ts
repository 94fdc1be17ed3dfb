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

/** How much of a refusal's body is read for its error code: S3's XML error is well under it. */
export const ERROR_BODY_BYTES = 4096;
/** How long that read may take: the body comes with the status, and the file is still being sent meanwhile. */
const ERROR_BODY_MS = 2000;
/** A <Message> longer than this is left out: the code says what happened, and a line stays a line. */
const ERROR_MESSAGE_MAX = 200;

export interface PutAnswer {
  status: number;
  /**
   * Why a refusal was refused, from the store's XML error (S3's, Azure's): its <Code>, its <Message>
   * when short, and what to do where that is known. Never the URL: its query string is a credential.
   */
  error?: string;
}

const xmlText = (s: string): string =>
  s
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&amp;/g, '&')
    .replace(/\s+/g, ' ')
    .trim();

const xmlField = (body: string, name: string): string | undefined => {
  const m = new RegExp(`<${name}>([^<]*)</${name}>`).exec(body);
  return m?.[1] === undefined ? undefined : xmlText(m[1]);
};

/**
 * `RequestTimeTooSkewed (The difference between the request time and the current time is too
 * large.); the host clock is off: check chrony/NTP` from an S3 error body; undefined without a <Code>.
 */
export function storeErrorText(body: string): string | undefined {
  const code = xmlField(body, 'Code');
  if (!code || code.length > 100) return undefined;
  const message = xmlField(body, 'Message');
  // a message that quotes a URL or its signature would leak the presigned URL's credentials
  const keep =
    message && message.length <= ERROR_MESSAGE_MAX && !/X-Amz-|Signature=|sig=|https?:\/\//i.test(message);
  let text = keep ? `${code} (${message})` : code;
  if (code === 'RequestTimeTooSkewed') {
    const serverTime = xmlField(body, 'ServerTime');
    const at = serverTime && serverTime.length <= 40 ? ` (the store's time was ${serverTime})` : '';
    text += `; the host clock is off${at}: check chrony/NTP`;
  }
  return text;
}

/** The start of a refusal's body (at most `max` bytes, within `ms`); whatever came if it ends early. */
function readStart(res: IncomingMessage, max: number, ms: number): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let len = 0;
    const done = (): void => {
      clearTimeout(timer);
      res.off('data', onData);
      res.off('end', done);
      res.off('error', done);
      res.off('close', done);
      resolve(Buffer.concat(chunks).subarray(0, max).toString('utf8'));
    };
    const onData = (c: Buffer): void => {
      chunks.push(c);
      len += c.length;
      if (len >= max) done();
    };
    const timer = setTimeout(done, ms);
    res.on('data', onData);
    res.once('end', done);
    res.once('error', done);
    res.once('close', done);
  });
}

/**
 * The answer's status code, and for a refusal what its body says; rejects on a network error, a
 * stall, a file that cannot be read, or `signal`.
 */
export async function putFile(
  url: string,
  file: string,
  size: number,
  contentType: string,
  signal: AbortSignal,
  opts: PutOptions = {},
): Promise<PutAnswer> {
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
    const status = res.statusCode ?? 0;
    // a success counts only once the whole file has gone
    if (status >= 200 && status < 300) {
      res.resume();
      await sent;
      return { status };
    }
    // S3 may send a PUT elsewhere (307/308, e.g. a bucket's region): the file is sent again there.
    const location = res.headers.location;
    const redirect = (status === 307 || status === 308) && location && redirects > 0;
    // A refusal says why in its body (S3's <Code>: AccessDenied, RequestTimeTooSkewed...): its start
    // is read, then the file stops being sent (a retry must not race it).
    const body = redirect ? '' : await readStart(res, ERROR_BODY_BYTES, ERROR_BODY_MS);
    req.destroy();
    clearTimeout(stall);
    if (redirect) {
      const next = new URL(location, u).toString();
      return await putFile(next, file, size, contentType, signal, { stallMs, redirects: redirects - 1 });
    }
    const error = storeErrorText(body);
    return error ? { status, error } : { status };
  } finally {
    clearTimeout(stall);
  }
}
