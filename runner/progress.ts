// Turns ruby-bench's progress lines into the heartbeat's current benchmark and percent.
// `Running benchmark "fib" (1/5)` (or `... "fib" [interp] (1/5)` with --interleave) is printed
// before each benchmark; the counter restarts for each executable.
const LINE = /^Running benchmark "([^"]+)"(?: \[([^\]]+)\])? \((\d+)\/(\d+)\)/;

export interface ProgressLine {
  benchmark: string;
  executable: string | null;
  index: number;
  total: number;
}

export function parseProgressLine(line: string): ProgressLine | undefined {
  const m = LINE.exec(line.trim());
  if (!m?.[1] || !m[3] || !m[4]) return undefined;
  return { benchmark: m[1], executable: m[2] ?? null, index: Number(m[3]), total: Number(m[4]) };
}

export interface ProgressState {
  benchmark: string | null;
  /** 0..100, never decreasing. */
  pct: number;
  /** Which pass over the benchmarks this is (1 = first executable). */
  pass: number;
}

/**
 * Feeds stdout chunks (split anywhere) and keeps the latest progress. `expectedPasses` is how
 * many executables ruby-bench will run when known; a restart of the counter beyond it grows it.
 */
export class ProgressTracker {
  private buf = '';
  private lastIndex = 0;
  private passes: number;
  readonly state: ProgressState = { benchmark: null, pct: 0, pass: 0 };

  constructor(expectedPasses = 1) {
    this.passes = Math.max(1, expectedPasses);
  }

  push(chunk: string): boolean {
    this.buf += chunk;
    let changed = false;
    let nl = this.buf.indexOf('\n');
    while (nl >= 0) {
      changed = this.line(this.buf.slice(0, nl)) || changed;
      this.buf = this.buf.slice(nl + 1);
      nl = this.buf.indexOf('\n');
    }
    // A progress line has no reason to be this long; do not buffer binary noise forever.
    if (this.buf.length > 4096) this.buf = this.buf.slice(-4096);
    return changed;
  }

  line(text: string): boolean {
    const p = parseProgressLine(text);
    if (!p || p.total <= 0) return false;
    if (this.state.pass === 0 || p.index <= this.lastIndex) this.state.pass += 1;
    this.lastIndex = p.index;
    this.passes = Math.max(this.passes, this.state.pass);
    const done = (this.state.pass - 1) * p.total + (p.index - 1);
    const pct = Math.round((1000 * done) / (this.passes * p.total)) / 10;
    this.state.benchmark = p.executable ? `${p.benchmark} [${p.executable}]` : p.benchmark;
    this.state.pct = Math.min(100, Math.max(this.state.pct, pct));
    return true;
  }
}
