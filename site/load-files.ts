// Lenient readers for manifest.json and meta.json: keep every field that is valid, warn about the rest.
import type * as z from 'zod';
import { InstanceTypeName, Manifest, ManifestTask, RunnerMeta } from '../lambdas/shared/contract';

function parseJson(text: string, label: string, warnings: string[]): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    warnings.push(`${label} is not valid JSON (${(err as Error).message})`);
    return undefined;
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A manifest whose run status may be unknown (null): a status never guessed, so never "complete". */
export type ReadManifest = Omit<Manifest, 'status' | 'tasks'> & {
  status: Manifest['status'] | null;
  tasks: ReadManifestTask[];
};

/**
 * A task is skipped without these: instance_type and run name its folder (`<instance_type>-<run>`),
 * and status decides whether it has results or failed, which is never guessed.
 */
const TASK_NEEDS = ['instance_type', 'run', 'status'] as const;
type TaskNeeds = (typeof TASK_NEEDS)[number];
/** A manifest task as the site reads it: what it needs, and every other field null when absent or unreadable. */
export type ReadManifestTask = Pick<ManifestTask, TaskNeeds> & {
  [K in Exclude<keyof ManifestTask, TaskNeeds>]: ManifestTask[K] | null;
};

/** The fields of `shape` that are valid in `doc`, the names of those missing, and why the others are unreadable. */
function readFields(doc: Record<string, unknown>, shape: Record<string, z.ZodType>) {
  const values: Record<string, unknown> = {};
  const missing: string[] = [];
  const bad: Array<[field: string, why: string]> = [];
  for (const [key, schema] of Object.entries(shape)) {
    if (!Object.hasOwn(doc, key)) {
      missing.push(key);
      continue;
    }
    const field = schema.safeParse(doc[key]);
    if (field.success) values[key] = field.data;
    else bad.push([key, field.error.issues[0]?.message ?? 'invalid']);
  }
  return { values, missing, bad };
}

/** `has no a, b and an unreadable c (why)`: names every field at fault, so the file can be corrected. */
function faults(missing: string[], bad: Array<[string, string]>): string {
  const parts: string[] = [];
  if (missing.length > 0) parts.push(`no ${missing.join(', ')}`);
  if (bad.length > 0) parts.push(`an unreadable ${bad.map(([f, why]) => `${f} (${why})`).join(', ')}`);
  return `has ${parts.join(' and ')}`;
}

const without = (n: number): string => `read without ${n === 1 ? 'it' : 'them'}`;

/** A plain instance type as is; any other quoted and cut, so a warning stays one short line. */
function shown(instanceType: string): string {
  if (InstanceTypeName.safeParse(instanceType).success) return instanceType;
  return JSON.stringify(instanceType.slice(0, 64)) + (instanceType.length > 64 ? '…' : '');
}

function readTask(doc: unknown, k: number, warnings: string[]): ReadManifestTask | null {
  if (!isRecord(doc)) {
    warnings.push(`manifest.json: task #${k + 1} is not a JSON object; skipped`);
    return null;
  }
  const { values, missing, bad } = readFields(doc, ManifestTask.shape);
  const v = values as Partial<ManifestTask>;
  const label = [
    v.instance_type !== undefined && shown(v.instance_type),
    v.run !== undefined && `run ${v.run}`,
  ];
  const named = label.filter((s) => s !== false);
  const at = `manifest.json: task #${k + 1}${named.length > 0 ? ` (${named.join(' ')})` : ''}`;
  const needed = (f: string) => (TASK_NEEDS as readonly string[]).includes(f);
  const lacking = missing.filter(needed);
  const wrong = bad.filter(([f]) => needed(f));
  if (lacking.length + wrong.length > 0) {
    warnings.push(`${at} ${faults(lacking, wrong)}; skipped (a task needs ${TASK_NEEDS.join(', ')})`);
    return null;
  }
  const n = missing.length + bad.length;
  if (n > 0) warnings.push(`${at} ${faults(missing, bad)}; ${without(n)}`);
  const nulls = Object.fromEntries(Object.keys(ManifestTask.shape).map((key) => [key, null]));
  return { ...nulls, ...values } as ReadManifestTask;
}

/** A manifest, or null when nothing usable is in it (then folder names alone describe the run). */
export function readManifest(text: string, warnings: string[]): ReadManifest | null {
  const doc = parseJson(text, 'manifest.json', warnings);
  if (doc === undefined) return null;
  const full = Manifest.safeParse(doc);
  if (full.success) return full.data;
  if (!isRecord(doc) || !Array.isArray(doc.tasks)) {
    warnings.push('manifest.json has no task list; instance types and runs come from the folder names');
    return null;
  }
  // Each field is read on its own, and each fault is named where it is: one task's missing field
  // (an older or hand-made manifest) costs that field, not the task.
  const top = readFields(doc, Manifest.omit({ status: true, tasks: true }).shape);
  const n = top.missing.length + top.bad.length;
  if (n > 0) warnings.push(`manifest.json ${faults(top.missing, top.bad)}; ${without(n)}`);
  const status = Manifest.shape.status.safeParse(doc.status).data ?? null;
  if (status === null) {
    warnings.push(
      doc.status === undefined
        ? 'manifest.json has no run status; shown as unknown'
        : `manifest.json: the run status ${JSON.stringify(doc.status).slice(0, 80)} is not one benchfleet writes; shown as unknown`,
    );
  }
  const tasks = doc.tasks.flatMap((t: unknown, k: number) => readTask(t, k, warnings) ?? []);
  const got = top.values as Partial<Manifest>;
  return {
    run_id: got.run_id ?? 0,
    ruby_version: got.ruby_version ?? '',
    status,
    config: got.config ?? {},
    created_at: got.created_at ?? '',
    finished_at: got.finished_at ?? null,
    tasks,
  };
}

/** The runner's meta.json; fields of the wrong type are dropped with one warning. */
export function readMeta(text: string, label: string, warnings: string[]): Partial<RunnerMeta> | null {
  const doc = parseJson(text, label, warnings);
  if (!isRecord(doc)) {
    if (doc !== undefined) warnings.push(`${label} is not a JSON object; host details unknown`);
    return null;
  }
  const full = RunnerMeta.safeParse(doc);
  if (full.success) return full.data;
  const meta: Record<string, unknown> = {};
  const bad: string[] = [];
  for (const [key, schema] of Object.entries(RunnerMeta.shape)) {
    if (!(key in doc)) continue;
    const field = schema.safeParse(doc[key]);
    if (field.success) meta[key] = field.data;
    else bad.push(key);
  }
  if (bad.length > 0) warnings.push(`${label}: unreadable fields ${bad.join(', ')}; used the rest`);
  return meta as Partial<RunnerMeta>;
}
