// Builds result.tar.gz and error.tar.gz. ruby-bench's output_NNN.* (the newest number) become
// output.txt/.json/.csv; meta.json and logs/ go beside them. Files are streamed, never held whole.
import { createReadStream, createWriteStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { pack as tarPack } from 'tar-stream';
import type { RunnerMeta } from '../lambdas/shared/contract';

export interface OutputFiles {
  txt?: string;
  json?: string;
  csv?: string;
}

/** The newest `output_NNN.*` set (or `output.*` from --out-name) in ruby-bench's out_path. */
export async function findOutputs(outDir: string): Promise<OutputFiles> {
  let names: string[];
  try {
    names = await readdir(outDir);
  } catch {
    return {};
  }
  let best: { n: number; stem: string } | undefined;
  for (const name of names) {
    const m = /^(output(?:_(\d+))?)\.(txt|json|csv)$/.exec(name);
    if (!m?.[1]) continue;
    const n = m[2] ? Number(m[2]) : 0;
    if (!best || n > best.n) best = { n, stem: m[1] };
  }
  if (!best) return {};
  const out: OutputFiles = {};
  for (const ext of ['txt', 'json', 'csv'] as const) {
    if (names.includes(`${best.stem}.${ext}`)) out[ext] = join(outDir, `${best.stem}.${ext}`);
  }
  return out;
}

export interface TarEntry {
  name: string;
  /** Either a file on disk or inline content. */
  path?: string;
  content?: string;
}

export async function writeTarGz(entries: TarEntry[], dest: string): Promise<number> {
  const pack = tarPack();
  const done = pipeline(pack, createGzip(), createWriteStream(dest));
  // A write error (a full disk) can reject `done` while an entry is still being appended: observe it
  // at once so it is never an unhandled rejection, and report it rather than the entry's own failure.
  const writeError = done.then(
    () => undefined,
    (err: unknown) => err,
  );
  try {
    for (const e of entries) {
      const content = e.content;
      if (content !== undefined) {
        await new Promise<void>((resolve, reject) =>
          pack.entry({ name: e.name, mtime: new Date() }, content, (err) => (err ? reject(err) : resolve())),
        );
        continue;
      }
      if (!e.path) continue;
      const st = await stat(e.path);
      if (st.size === 0) {
        pack.entry({ name: e.name, mtime: st.mtime }, '');
        continue;
      }
      const sink = pack.entry({ name: e.name, size: st.size, mtime: st.mtime });
      await pipeline(createReadStream(e.path, { end: Math.max(0, st.size - 1) }), sink);
    }
    pack.finalize();
  } catch (err) {
    pack.destroy(err as Error);
    throw (await writeError) ?? err;
  }
  const failed = await writeError;
  if (failed) throw failed;
  return (await stat(dest)).size;
}

async function logEntries(logsDir: string): Promise<TarEntry[]> {
  const names = await readdir(logsDir).catch(() => [] as string[]);
  return names.sort().map((n) => ({ name: `logs/${n}`, path: join(logsDir, n) }));
}

export async function packResult(
  outputs: OutputFiles,
  meta: RunnerMeta,
  logsDir: string,
  dest: string,
): Promise<number> {
  const entries: TarEntry[] = [];
  for (const ext of ['txt', 'json', 'csv'] as const) {
    const p = outputs[ext];
    if (p) entries.push({ name: `output.${ext}`, path: p });
  }
  entries.push({ name: 'meta.json', content: `${JSON.stringify(meta, null, 2)}\n` });
  entries.push(...(await logEntries(logsDir)));
  return writeTarGz(entries, dest);
}

export async function packError(meta: RunnerMeta, logsDir: string, dest: string): Promise<number> {
  const entries: TarEntry[] = [{ name: 'meta.json', content: `${JSON.stringify(meta, null, 2)}\n` }];
  entries.push(...(await logEntries(logsDir)));
  return writeTarGz(entries, dest);
}
