// Reads ruby-bench's output.txt: `exe: ruby -v` lines, then tables framed by dashed rules.
// Handles the current cells (`362.7 ± 0.7%`) and the pre-February-2026 layout (a separate
// `stddev (%)` column after each `(ms)` column), any number of executables, optional RSS columns,
// and extra columns (ratios, p-values). Never throws: what it cannot read becomes a warning.
import type { BenchSample, ParsedOutput } from './model';

const RULE = /^-+(?: {2,}-+)*\s*$/;
const DESCRIPTION = /^([^\s:]+): (\S.*)$/;
const TIME_HEADER = /^(.+) \(ms\)$/;
const KNOWN_IGNORED = [/1st itr$/, /^[^\s/]+\/[^\s/]+$/, /^p-value$/, /^sig$/];

interface Span {
  start: number;
  end: number;
}

interface ExeColumns {
  exe: string;
  time: number;
  stddev: number | null;
  rss: number | null;
}

/** Column positions come from the dashed rule: ruby-bench pads every cell to its column's width. */
function spansOf(rule: string): Span[] {
  const spans: Span[] = [];
  for (const m of rule.matchAll(/-+/g)) spans.push({ start: m.index, end: m.index + m[0].length });
  return spans;
}

function cellsOf(line: string, spans: Span[]): string[] {
  // By characters, as ruby-bench pads (Ruby's ljust): a name with a character beyond the BMP (an
  // emoji) is one character but two JavaScript string units, and would shift every later column.
  const chars = Array.from(line);
  const at = (from: number, to?: number): string => chars.slice(from, to).join('');
  const aligned = spans.every((s, k) => k === 0 || at(s.start - 1, s.start).trim() === '');
  if (!aligned) return line.trim().split(/\s{2,}/); // a hand-edited or foreign table: best effort
  return spans.map((s, k) => at(s.start, k === spans.length - 1 ? undefined : s.end).trim());
}

function parseNumber(s: string | undefined): number | null {
  if (s === undefined || s === '') return null;
  const n = Number(s);
  return Number.isFinite(n) && n >= 0 ? n : null;
}

/** `362.7 ± 0.7%` (current), `362.7` (legacy) -> mean and optional stddev percent. */
function parseTimeCell(cell: string): { mean: number; pct: number | null } | null {
  const m = /^(\S+)(?:\s*±\s*(\S+)%)?$/.exec(cell);
  const mean = parseNumber(m?.[1]);
  if (!m || mean === null) return null;
  const pct = m[2] === undefined ? null : parseNumber(m[2]);
  return { mean, pct };
}

function classifyHeader(header: string[]): { exes: ExeColumns[]; unknown: string[] } {
  const exes: ExeColumns[] = [];
  const unknown: string[] = [];
  header.forEach((name, k) => {
    if (k === 0) return;
    const time = TIME_HEADER.exec(name);
    const last = exes[exes.length - 1];
    if (time?.[1] !== undefined) exes.push({ exe: time[1], time: k, stddev: null, rss: null });
    else if (name === 'stddev (%)' && last) last.stddev = k;
    else if (name === 'RSS (MiB)' && last) last.rss = k;
    else if (!KNOWN_IGNORED.some((re) => re.test(name))) unknown.push(name);
  });
  return { exes, unknown };
}

interface TableContext {
  out: ParsedOutput;
  seen: Set<string>;
  warn: (w: string) => void;
  /** Per executable, benchmarks whose mean reads 0.0 ms. */
  tooFast: Map<string, string[]>;
}

/**
 * The warning for benchmarks whose mean is 0 ms: ruby-bench prints one decimal, so a very fast
 * benchmark reads 0.0, which has no ratio to compare; such benchmarks are left out of the results.
 */
export function tooFastWarning(file: string, exe: string, benches: string[]): string {
  const which =
    benches.length === 1
      ? `benchmark "${benches[0]}"`
      : `${benches.length} benchmarks (${benches.map((b) => `"${b}"`).join(', ')})`;
  return `${file}: ${which} of ${exe} took 0.0 ms on average, too fast to measure at ruby-bench's 0.1 ms precision; left out of the results and the ranking`;
}

function readRow(cells: string[], exes: ExeColumns[], ctx: TableContext): void {
  const bench = cells[0] ?? '';
  if (bench === '') return;
  for (const col of exes) {
    const key = `${col.exe}\u0000${bench}`;
    const cell = cells[col.time];
    if (cell === undefined || cell === '') {
      ctx.warn(`benchmark "${bench}" has no ${col.exe} time (truncated row?)`);
      continue;
    }
    if (ctx.seen.has(key)) {
      ctx.warn(`benchmark "${bench}" appears twice for ${col.exe}; kept the first`);
      continue;
    }
    ctx.seen.add(key);
    if (cell === 'N/A') {
      ctx.out.failed.push({ exe: col.exe, bench });
      continue;
    }
    const time = parseTimeCell(cell);
    if (!time) {
      ctx.warn(`could not read the ${col.exe} time "${cell}" of benchmark "${bench}"`);
      continue;
    }
    if (time.mean <= 0) {
      ctx.tooFast.set(col.exe, [...(ctx.tooFast.get(col.exe) ?? []), bench]);
      continue;
    }
    const legacyPct = col.stddev === null ? null : parseNumber(cells[col.stddev]);
    const rss = col.rss === null ? null : parseTimeCell(cells[col.rss] ?? '');
    const sample: BenchSample = {
      exe: col.exe,
      bench,
      meanMs: time.mean,
      iterStddevPct: time.pct ?? legacyPct,
      iterations: null,
      rssMiB: rss?.mean ?? null,
    };
    ctx.out.samples.push(sample);
  }
}

/** Parses the text of an output.txt. `file` names it in warnings. */
export function parseOutputTxt(text: string, file = 'output.txt'): ParsedOutput {
  const out: ParsedOutput = { source: 'output.txt', executables: {}, samples: [], failed: [], warnings: [] };
  const ctx: TableContext = {
    out,
    seen: new Set(),
    warn: (w) => out.warnings.push(`${file}: ${w}`),
    tooFast: new Map(),
  };
  const lines = text.split(/\r?\n/);
  let tables = 0;
  let i = 0;
  for (; i < lines.length && !RULE.test(lines[i] ?? ''); i++) {
    const m = DESCRIPTION.exec(lines[i] ?? '');
    if (m?.[1] !== undefined && m[2] !== undefined) out.executables[m[1]] = m[2];
  }
  while (i < lines.length) {
    const rule = lines[i] ?? '';
    if (!RULE.test(rule) || rule.trim() === '') {
      i++;
      continue;
    }
    const spans = spansOf(rule);
    const header = cellsOf(lines[i + 1] ?? '', spans);
    let end = i + 2;
    while (end < lines.length && !RULE.test(lines[end] ?? '') && (lines[end] ?? '').trim() !== '') end++;
    const closed = end < lines.length && RULE.test(lines[end] ?? '') && (lines[end] ?? '').trim() !== '';
    // Tables without `(ms)` columns (the GC summary) are not timings: skipped without a word.
    const { exes, unknown } = classifyHeader(header);
    if (exes.length > 0) {
      tables++;
      for (const name of unknown) ctx.warn(`ignored the unknown column "${name}"`);
      if (!closed) ctx.warn('a results table ends without its closing rule (truncated file?)');
      for (let r = i + 2; r < end; r++) readRow(cellsOf(lines[r] ?? '', spans), exes, ctx);
    }
    i = end + 1;
  }
  if (tables === 0) ctx.warn('no ruby-bench results table found');
  for (const [exe, benches] of ctx.tooFast) out.warnings.push(tooFastWarning(file, exe, benches));
  return out;
}
