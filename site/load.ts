// Reads a results folder (`manifest.json` and `<instance_type>-<run>/` folders) into tasks.
// Bad files never stop the build: each problem becomes a warning that names the file.
import type { Dirent } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { isAbsolute, join, win32 } from 'node:path';
import { type ReadManifest, type ReadManifestTask, readManifest, readMeta } from './load-files';
import type { LoadedRun, TaskResult } from './model';
import { parseOutputFiles } from './parse-output';

const FOLDER = /^(.+)-(\d+)$/;
/** Larger files are not results ruby-bench writes; reading them would only cost memory. */
const MAX_FILE_BYTES = 64 * 1024 * 1024;
const READ_CONCURRENCY = 16;

async function readText(path: string, warnings: string[], label: string): Promise<string | undefined> {
  try {
    const info = await stat(path);
    if (!info.isFile()) {
      warnings.push(`${label} is not a file; skipped`);
      return undefined;
    }
    if (info.size > MAX_FILE_BYTES) {
      warnings.push(`${label} is ${info.size} bytes, more than ruby-bench writes; skipped`);
      return undefined;
    }
    return await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    warnings.push(`could not read ${label}: ${(err as Error).message}`);
    return undefined;
  }
}

async function isDir(path: string): Promise<boolean> {
  return stat(path).then(
    (s) => s.isDirectory(),
    () => false,
  );
}

/**
 * The folders among a folder's entries. A task folder may be a symlink (results gathered from
 * elsewhere): one that resolves to a folder counts.
 */
export async function folderNames(dir: string, entries: Dirent[]): Promise<string[]> {
  const folders: string[] = [];
  for (const e of entries) {
    if (e.isDirectory() || (e.isSymbolicLink() && (await isDir(join(dir, e.name))))) folders.push(e.name);
  }
  return folders;
}

function outcomeOf(task: ReadManifestTask): Pick<TaskResult, 'outcome' | 'reason'> {
  switch (task.status) {
    case 'completed':
      return { outcome: 'completed', reason: null };
    case 'failed':
    case 'cancelled': {
      const why = [task.error_type, task.error_message].filter((s) => s).join(': ');
      return { outcome: task.status, reason: why || `${task.status} (the manifest gives no reason)` };
    }
    default:
      return { outcome: 'unfinished', reason: `still ${task.status} when the archive was made` };
  }
}

async function fillFromFolder(task: TaskResult, dir: string, warnings: string[]): Promise<void> {
  const where = `${task.folder}/`;
  const metaText =
    (await readText(join(dir, 'meta.json'), warnings, `${where}meta.json`)) ??
    (await readText(join(dir, 'error', 'meta.json'), warnings, `${where}error/meta.json`));
  task.meta = metaText === undefined ? null : readMeta(metaText, `${where}meta.json`, warnings);
  task.provider ??= task.meta?.provider ?? null;
  const json = await readText(join(dir, 'output.json'), warnings, `${where}output.json`);
  const txt = await readText(join(dir, 'output.txt'), warnings, `${where}output.txt`);
  const hasError = await isDir(join(dir, 'error'));
  if (json === undefined && txt === undefined) {
    if (!task.manifestTask) {
      task.outcome = hasError ? 'failed' : 'missing';
      task.reason = hasError
        ? 'failed (an error/ folder is there; without manifest.json the reason is unknown)'
        : 'no output.txt or output.json in its folder';
    } else if (task.outcome === 'completed') {
      task.outcome = 'missing';
      task.reason = 'completed, but its folder has no output.txt or output.json';
    }
    return;
  }
  task.output = parseOutputFiles({ json, txt, where });
  warnings.push(...task.output.warnings);
  if (task.output.samples.length === 0 && task.outcome === 'completed') {
    const { failed, warnings: problems } = task.output;
    if (failed.length > 0) {
      // The task ran; ruby-bench printed N/A for each benchmark. Aggregation still lists them.
      task.outcome = 'benchmarks_failed';
      task.reason =
        problems.length === 0
          ? `every benchmark failed (N/A in ruby-bench's output): ${failedNames(failed)}`
          : `every benchmark failed or could not be read: ${failedNames(failed)} failed (N/A), the rest are in the warnings`;
    } else {
      task.outcome = 'missing';
      task.reason =
        problems.length === 0
          ? 'its output lists no benchmark'
          : 'no benchmark result could be read from its output (see the warnings)';
    }
  }
}

/** What the assembly wrote about a task (a corrupt tarball, skipped files) is shown, not lost. */
function noteAssemblyError(task: TaskResult, warnings: string[]): void {
  const said = task.manifestTask?.assembly_error;
  if (!said) return;
  warnings.push(`${task.folder}: the assembly reported: ${said}`);
  if (task.outcome === 'missing') task.reason = `${task.reason} (the assembly reported: ${said})`;
}

function failedNames(failed: Array<{ exe: string; bench: string }>): string {
  const names = [...new Set(failed.map((f) => f.bench))];
  return names.length > 10
    ? `${names.slice(0, 10).join(', ')} and ${names.length - 10} more`
    : names.join(', ');
}

/**
 * Why an instance type from manifest.json cannot name a folder inside the results folder, or null.
 * Folder names from the listing are single names by construction; the manifest's are not, and
 * `../x`, `/etc/x` or `..\x` (Windows) would make the builder read outside the results folder.
 */
export function unsafeInstanceType(instanceType: string): string | null {
  if (instanceType === '') return 'is empty';
  if (instanceType.includes('\0')) return 'contains a NUL character';
  if (isAbsolute(instanceType) || win32.isAbsolute(instanceType)) return 'is an absolute path';
  if (/^[A-Za-z]:/.test(instanceType)) return 'starts with a Windows drive (C:)';
  if (/[/\\]/.test(instanceType)) return 'contains a path separator (/ or \\)';
  return null;
}

function newTask(folder: string, instanceType: string, run: number, mt: ReadManifestTask | null): TaskResult {
  return {
    folder,
    instanceType,
    run,
    provider: mt?.provider ?? null,
    ...(mt ? outcomeOf(mt) : { outcome: 'completed' as const, reason: null }),
    meta: null,
    output: null,
    manifestTask: mt,
  };
}

/** Reads `resultsDir`; throws only when the folder itself cannot be listed. `skip`: folder names to pass over. */
export async function loadResults(resultsDir: string, skip: string[] = []): Promise<LoadedRun> {
  const entries = await readdir(resultsDir, { withFileTypes: true }).catch((err: Error) => {
    throw new Error(`cannot read the results folder ${resultsDir}: ${err.message}`, { cause: err });
  });
  const warnings: string[] = [];
  const manifestText = await readText(join(resultsDir, 'manifest.json'), warnings, 'manifest.json');
  const manifest: ReadManifest | null =
    manifestText === undefined ? null : readManifest(manifestText, warnings);
  const tasks = new Map<string, TaskResult>();
  for (const mt of manifest?.tasks ?? []) {
    const unsafe = unsafeInstanceType(mt.instance_type);
    if (unsafe !== null) {
      warnings.push(
        `manifest.json: ${mt.id === null ? 'a task' : `task ${mt.id}`} (run ${mt.run}) has the instance type ${JSON.stringify(mt.instance_type).slice(0, 120)}, ` +
          `which ${unsafe} and so is no folder name; skipped it without reading any file for it. ` +
          'Correct its instance_type in manifest.json to a plain name like m5.large',
      );
      continue;
    }
    if (mt.run < 1) {
      // `m5.large--1` would read back from the listing as instance type `m5.large-`, run 1
      warnings.push(
        `manifest.json: ${mt.id === null ? 'a task' : `task ${mt.id}`} (${mt.instance_type}) has run ${mt.run}, ` +
          'but runs are numbered from 1, so it names no folder; skipped it without reading any file for it. ' +
          'Correct its run in manifest.json',
      );
      continue;
    }
    const folder = `${mt.instance_type}-${mt.run}`;
    if (tasks.has(folder)) warnings.push(`manifest.json lists ${folder} twice; kept the last entry`);
    tasks.set(folder, newTask(folder, mt.instance_type, mt.run, mt));
  }
  const folders = await folderNames(resultsDir, entries);
  for (const name of folders.sort()) {
    const m = FOLDER.exec(name);
    if (skip.includes(name)) continue;
    if (!m?.[1] || !m[2]) {
      warnings.push(`ignored the folder ${name}: its name is not <instance_type>-<run>`);
      continue;
    }
    if (!tasks.has(name)) {
      if (manifest) warnings.push(`${name}/ is not in manifest.json; included from its folder name`);
      tasks.set(name, newTask(name, m[1], Number(m[2]), null));
    }
  }
  // Folders are read a few at a time; each keeps its own warnings so their order does not
  // depend on which read finishes first.
  const list = [...tasks.values()];
  const perTask: string[][] = list.map(() => []);
  for (let i = 0; i < list.length; i += READ_CONCURRENCY) {
    await Promise.all(
      list.slice(i, i + READ_CONCURRENCY).map(async (task, k) => {
        const dir = join(resultsDir, task.folder);
        if (await isDir(dir)) await fillFromFolder(task, dir, perTask[i + k]!);
        else if (task.outcome === 'completed') {
          task.outcome = 'missing';
          task.reason = 'completed, but its folder is not in the archive';
        }
        noteAssemblyError(task, perTask[i + k]!);
      }),
    );
  }
  warnings.push(...perTask.flat());
  const sorted = [...tasks.values()].sort((a, b) =>
    a.instanceType < b.instanceType ? -1 : a.instanceType > b.instanceType ? 1 : a.run - b.run,
  );
  return {
    resultsDir,
    runId: manifest?.run_id || null,
    rubyVersion: manifest?.ruby_version || null,
    status: manifest?.status ?? null,
    createdAt: manifest?.created_at || null,
    finishedAt: manifest?.finished_at ?? null,
    hasManifest: manifest !== null,
    tasks: sorted,
    warnings,
  };
}
