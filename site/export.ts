// The aggregated data as downloads: data.csv (one row per executable, instance type, benchmark)
// and data.json (everything the page shows, for other tools).
import type { Aggregate } from './aggregate';
import type { LoadedRun } from './model';
import type { PriceSource } from './prices';

function csvField(v: unknown): string {
  if (v === null || v === undefined) return '';
  let s = typeof v === 'number' ? String(Number(v.toPrecision(12))) : String(v);
  // Names come from runners: a text starting like a formula gets a leading ' so a spreadsheet
  // shows it rather than running it (OWASP's CSV injection advice). Numbers stay numbers.
  if (typeof v !== 'number' && /^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function toCsv(agg: Aggregate): string {
  const header = [
    'executable',
    'instance_type',
    'benchmark',
    'runs',
    'mean_ms',
    'stddev_ms',
    'cv',
    'min_ms',
    'max_ms',
    'rss_mib',
    'speed_vs_baseline',
    'baseline',
    'noisy',
    'noise',
    'failed_runs',
  ];
  const baselines = new Map(agg.rankings.map((r) => [r.exe, r.baseline]));
  const means = new Map(agg.cells.map((c) => [`${c.exe}\u0000${c.instanceType}\u0000${c.bench}`, c.meanMs]));
  const rows = agg.cells.map((c) => {
    const base = baselines.get(c.exe) ?? null;
    const baseMean = base === null ? undefined : means.get(`${c.exe}\u0000${base}\u0000${c.bench}`);
    return [
      c.exe,
      c.instanceType,
      c.bench,
      c.runs.length,
      c.meanMs,
      c.stddevMs,
      c.cv,
      c.minMs,
      c.maxMs,
      c.rssMiB,
      baseMean === undefined ? null : baseMean / c.meanMs,
      base,
      c.noisy,
      c.noise.join('; '),
      c.failedRuns.join(' '),
    ]
      .map(csvField)
      .join(',');
  });
  return `${[header.join(','), ...rows].join('\n')}\n`;
}

export function toJson(
  run: LoadedRun,
  agg: Aggregate,
  warnings: string[],
  priceSource: PriceSource | null = null,
): string {
  const doc = {
    run_id: run.runId,
    ruby_version: run.rubyVersion,
    status: run.status,
    created_at: run.createdAt,
    finished_at: run.finishedAt,
    executables: agg.executables,
    instance_types: agg.instanceTypes,
    /** where rankings' pricePerHour comes from; null: no prices */
    price_source: priceSource,
    rankings: agg.rankings,
    cells: agg.cells,
    failed_benchmarks: agg.failures,
    tasks: run.tasks.map((t) => ({
      folder: t.folder,
      instance_type: t.instanceType,
      run: t.run,
      provider: t.provider,
      outcome: t.outcome,
      reason: t.reason,
      source: t.output?.source ?? null,
      executables: t.output?.executables ?? {},
      meta: t.meta,
    })),
    warnings,
  };
  return `${JSON.stringify(doc, null, 2)}\n`;
}
