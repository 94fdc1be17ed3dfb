// A gzipped tar of the given files, as a results archive or a runner's tarball is, for tests.
import { gzipSync } from 'node:zlib';
import { pack } from 'tar-stream';

export async function tarGzOf(files: Record<string, string>): Promise<Buffer> {
  const p = pack();
  for (const [name, body] of Object.entries(files)) p.entry({ name }, body);
  p.finalize();
  const chunks: Buffer[] = [];
  for await (const c of p) chunks.push(c as Buffer);
  return gzipSync(Buffer.concat(chunks));
}
