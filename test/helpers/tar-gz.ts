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

/** An entry of tarGzEntries: a file by default; folders and links for archives a test makes hostile. */
export type TarEntry = {
  name: string;
  body?: string;
  type?: 'file' | 'directory' | 'symlink';
  linkname?: string;
};

/** A gzipped tar of exactly these entries, in this order (duplicates, folders and links too). */
export async function tarGzEntries(entries: TarEntry[]): Promise<Buffer> {
  const p = pack();
  for (const e of entries) {
    p.entry(
      { name: e.name, type: e.type ?? 'file', ...(e.linkname && { linkname: e.linkname }) },
      e.body ?? '',
    );
  }
  p.finalize();
  const chunks: Buffer[] = [];
  for await (const c of p) chunks.push(c as Buffer);
  return gzipSync(Buffer.concat(chunks));
}
