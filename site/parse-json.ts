// Reads ruby-bench's output.json: `{metadata: {exe: "ruby -v"}, raw_data: {exe: {bench: {bench:
// [seconds...], rss_samples, rss, ...}}}}`. Per-iteration data makes it the richest source.
import type { BenchSample, ParsedOutput } from './model';
import { tooFastWarning } from './parse-table';

const MIB = 1024 * 1024;

export type JsonParse = { ok: true; output: ParsedOutput } | { ok: false; reason: string };

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function numbers(v: unknown): number[] | null {
  if (!Array.isArray(v)) return null;
  return v.every((x) => typeof x === 'number' && Number.isFinite(x) && x >= 0) ? (v as number[]) : null;
}

function meanOf(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

function rssMiB(entry: Record<string, unknown>): number | null {
  // ruby-bench's `RSS (MiB)` column is the mean of rss_samples; older files only have `rss`.
  const samples = numbers(entry.rss_samples);
  if (samples && samples.length > 0) return meanOf(samples) / MIB;
  return typeof entry.rss === 'number' && Number.isFinite(entry.rss) ? entry.rss / MIB : null;
}

/** Parses the text of an output.json; `ok: false` when it is not ruby-bench JSON at all. */
export function parseOutputJson(text: string, file = 'output.json'): JsonParse {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    return { ok: false, reason: `${file} is not valid JSON (${(err as Error).message})` };
  }
  if (!isRecord(doc) || !isRecord(doc.raw_data)) {
    return { ok: false, reason: `${file} has no "raw_data" object, so it is not ruby-bench output` };
  }
  const out: ParsedOutput = { source: 'output.json', executables: {}, samples: [], failed: [], warnings: [] };
  if (isRecord(doc.metadata)) {
    for (const [exe, desc] of Object.entries(doc.metadata)) {
      if (typeof desc === 'string') out.executables[exe] = desc;
    }
  }
  for (const [exe, benches] of Object.entries(doc.raw_data)) {
    if (!isRecord(benches)) {
      out.warnings.push(`${file}: the data of executable "${exe}" is not an object; skipped`);
      continue;
    }
    const tooFast: string[] = [];
    for (const [bench, entry] of Object.entries(benches)) {
      const times = isRecord(entry) ? numbers(entry.bench) : null;
      if (!isRecord(entry) || !times || times.length === 0) {
        out.warnings.push(`${file}: benchmark "${bench}" of ${exe} has no iteration times; skipped`);
        continue;
      }
      const mean = meanOf(times);
      if (mean <= 0) {
        tooFast.push(bench);
        continue;
      }
      const variance = times.reduce((a, t) => a + (t - mean) ** 2, 0) / times.length; // population form, as ruby-bench prints it
      const sample: BenchSample = {
        exe,
        bench,
        meanMs: mean * 1000,
        iterStddevPct: (Math.sqrt(variance) / mean) * 100,
        iterations: times.length,
        rssMiB: rssMiB(entry),
      };
      out.samples.push(sample);
    }
    if (tooFast.length > 0) out.warnings.push(tooFastWarning(file, exe, tooFast));
  }
  return { ok: true, output: out };
}
