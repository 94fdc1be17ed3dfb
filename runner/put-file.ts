// A PUT of a file to a presigned URL, streamed from disk with its length (S3 takes no chunked PUT).
// Not fetch: Node 20's fetch (undici 6) holds a streamed request body in memory whole, so a large
// result tarball would cost its size in RAM (and more than 2 GiB could not be sent at all).
import { createReadStream } from 'node:fs';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { pipeline } from 'node:stream/promises';

/** The answer's status code; rejects on a network error, a file that cannot be read, or `signal`. */
export async function putFile(
  url: string,
  file: string,
  size: number,
  contentType: string,
  signal: AbortSignal,
  redirects = 1,
): Promise<number> {
  const u = new URL(url);
  const request = u.protocol === 'https:' ? httpsRequest : httpRequest;
  const req = request(u, {
    method: 'PUT',
    headers: { 'content-type': contentType, 'content-length': String(size) },
    signal,
  });
  const answered = new Promise<IncomingMessage>((resolve, reject) => {
    req.once('response', resolve);
    req.once('error', reject);
  });
  const sent = pipeline(createReadStream(file), req);
  // observed at once: a refusal may come (and the connection close) before the body is all sent
  sent.catch(() => undefined);
  const res = await answered;
  res.resume();
  const status = res.statusCode ?? 0;
  // a success counts only once the whole file has gone
  if (status >= 200 && status < 300) {
    await sent;
    return status;
  }
  // A refusal can come before the body is all sent: stop sending it (a retry must not race it).
  req.destroy();
  // S3 may send a PUT elsewhere (307/308, e.g. a bucket's region): the file is sent again there.
  const location = res.headers.location;
  if ((status === 307 || status === 308) && location && redirects > 0)
    return putFile(new URL(location, u).toString(), file, size, contentType, signal, redirects - 1);
  return status;
}
