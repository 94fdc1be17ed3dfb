// Lenient readers for manifest.json and meta.json: keep every field that is valid, warn about the rest.
import { Manifest, ManifestTask, RunnerMeta } from '../lambdas/shared/contract';

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
export type ReadManifest = Omit<Manifest, 'status'> & { status: Manifest['status'] | null };

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
  const tasks: ManifestTask[] = [];
  doc.tasks.forEach((t: unknown, k: number) => {
    const parsed = ManifestTask.safeParse(t);
    if (parsed.success) tasks.push(parsed.data);
    else
      warnings.push(
        `manifest.json: task #${k + 1} is malformed (${parsed.error.issues[0]?.message}); skipped`,
      );
  });
  const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);
  const status = Manifest.shape.status.safeParse(doc.status).data ?? null;
  if (status === null) {
    warnings.push(
      doc.status === undefined
        ? 'manifest.json has no run status; shown as unknown'
        : `manifest.json: the run status ${JSON.stringify(doc.status).slice(0, 80)} is not one benchfleet writes; shown as unknown`,
    );
  }
  warnings.push('manifest.json does not fully match the expected shape; used the fields that do');
  return {
    run_id: typeof doc.run_id === 'number' ? doc.run_id : 0,
    ruby_version: str(doc.ruby_version) ?? '',
    status,
    config: isRecord(doc.config) ? doc.config : {},
    created_at: str(doc.created_at) ?? '',
    finished_at: str(doc.finished_at),
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
