// Progress parsing against real ruby-bench stdout (the committed copy of the shared fixtures).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ProgressTracker, parseProgressLine } from '../../runner/progress';

const FIXTURES = join(__dirname, '..', 'site', 'fixtures', 'ruby-bench');
const stdout = (folder: string): string => readFileSync(join(FIXTURES, folder, 'stdout.log'), 'utf8');

describe('ruby-bench progress', () => {
  it('reads the benchmark, index and total of a progress line, with or without an interleave tag', () => {
    expect(parseProgressLine('Running benchmark "fib" (1/5)')).toEqual({
      benchmark: 'fib',
      executable: null,
      index: 1,
      total: 5,
    });
    expect(parseProgressLine('Running benchmark "30k_ifelse" [interp] (2/3)')).toMatchObject({
      benchmark: '30k_ifelse',
      executable: 'interp',
      index: 2,
    });
    expect(parseProgressLine(' #1: 1056ms')).toBeUndefined();
  });

  it('counts two passes when the counter restarts for the second executable', () => {
    const t = new ProgressTracker();
    const seen: Array<[string | null, number]> = [];
    for (const line of stdout('default-iterations-interp-vs-yjit-5-micro').split('\n')) {
      if (t.line(line)) seen.push([t.state.benchmark, t.state.pct]);
    }
    expect(seen).toHaveLength(10);
    expect(t.state.pass).toBe(2);
    expect(seen[0]).toEqual(['fib', 0]);
    expect(seen.at(-1)?.[0]).toBe('str_concat');
    const pcts = seen.map(([, p]) => p);
    expect(pcts).toEqual([...pcts].sort((a, b) => a - b));
    // Told there are two executables, the last step is 9 of 10.
    const two = new ProgressTracker(2);
    two.push(stdout('default-iterations-interp-vs-yjit-5-micro'));
    expect(two.state.pct).toBe(90);
  });

  it('follows a 40-benchmark single-ruby run fed in arbitrary chunks', () => {
    const text = stdout('once-single-ruby-40-nogem-benchmarks');
    const t = new ProgressTracker();
    for (let i = 0; i < text.length; i += 37) t.push(text.slice(i, i + 37));
    expect(t.state.pass).toBe(1);
    expect(t.state.pct).toBe(97.5);
    expect(t.state.benchmark).toBe(/"([^"]+)" \(40\/40\)/.exec(text)?.[1]);
  });

  it('reads every fixture without error, quiet mode included', () => {
    for (const folder of readdirSync(FIXTURES).filter((f) => !f.endsWith('.md'))) {
      const t = new ProgressTracker();
      t.push(stdout(folder));
      expect(t.state.benchmark).not.toBeNull();
      expect(t.state.pct).toBeGreaterThan(0);
      expect(t.state.pct).toBeLessThan(100);
    }
  });
});
