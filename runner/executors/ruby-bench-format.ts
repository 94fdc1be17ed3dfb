// Writes results in ruby-bench's own output formats (output_NNN.txt/.csv/.json; see
// fixtures/ruby-bench), so whatever reads real ruby-bench output reads ours too.
export interface BenchTimes {
  name: string;
  /** Seconds per iteration, as ruby-bench's JSON has them. */
  warmup: number[];
  bench: number[];
  rss?: number;
}

export interface FormatInput {
  /** Executable name (a column head) and its description (the `exe: ruby -v` line). */
  exe: string;
  description: string;
  results: BenchTimes[];
  /** Extra legend lines, printed after the table. */
  legend?: string[];
}

const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
const stddev = (xs: number[]): number => {
  if (xs.length < 2) return 0;
  const m = mean(xs);
  return Math.sqrt(xs.reduce((a, x) => a + (x - m) ** 2, 0) / xs.length);
};

/** ruby-bench's time cell: mean in ms with one decimal, then the stddev as a percent of it. */
export function timeCell(seconds: number[]): string {
  if (seconds.length === 0) return 'N/A';
  const ms = seconds.map((s) => s * 1000);
  const m = mean(ms);
  const pct = m > 0 ? (100 * stddev(ms)) / m : 0;
  return `${m.toFixed(1)} ± ${pct.toFixed(1)}%`;
}

/** A table framed by dashed rules; the first column left-aligned, the rest right-aligned. */
export function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length))) ?? [];
  const rule = widths.map((w) => '-'.repeat(w)).join('  ');
  const fmt = (r: string[]): string =>
    r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c] ?? 0) : cell.padStart(widths[c] ?? 0))).join('  ');
  return [rule, ...rows.map(fmt), rule].join('\n');
}

export function formatTxt(input: FormatInput): string {
  const rows = [['bench', `${input.exe} (ms)`], ...input.results.map((r) => [r.name, timeCell(r.bench)])];
  const legend = input.legend?.length ? `\nLegend:\n${input.legend.map((l) => `- ${l}`).join('\n')}\n` : '';
  return `${input.exe}: ${input.description}\n\n${table(rows)}\n${legend}`;
}

export function formatCsv(input: FormatInput): string {
  const lines = [`${input.exe},${input.description}`, '', `bench,${input.exe} (ms)`];
  for (const r of input.results) lines.push(`${r.name},${timeCell(r.bench)}`);
  return `${lines.join('\n')}\n`;
}

export function formatJson(input: FormatInput, commandLine: string): string {
  const data: Record<string, unknown> = {};
  for (const r of input.results) {
    data[r.name] = {
      RUBY_DESCRIPTION: input.description,
      warmup: r.warmup,
      bench: r.bench,
      rss: r.rss ?? null,
      maxrss: r.rss ?? null,
      command_line: `${commandLine} ${r.name}`,
    };
  }
  return JSON.stringify({ metadata: { [input.exe]: input.description }, raw_data: { [input.exe]: data } });
}
