// The synthetic executor: real timings in a worker, ruby-bench's formats (read back with the site's
// parser of real ruby-bench output), labelled synthetic, instant at size 0, stoppable.
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ClaimedTask } from '../../lambdas/shared/contract';
import { SyntheticExecutor } from '../../runner/executors/synthetic';
import type { ExecContext } from '../../runner/executors/types';
import { createLogger } from '../../runner/log';
import { ProgressTracker } from '../../runner/progress';
import { parseOutputFiles } from '../../site/parse-output';
import { parseOutputTxt } from '../../site/parse-table';
import { tempDir } from '../helpers/temp-dir';

const task: ClaimedTask = {
  id: 170000000001,
  run_id: 1700000000,
  provider: 'local',
  instance_type: 'x',
  run: 1,
  run_number: 1,
  attempt: 1,
  ruby_version: '3.4.7',
  image: 'ruby:3.4.7',
};

function ctx(over: Partial<ExecContext> = {}): ExecContext & { stdout: () => string } {
  const dir = tempDir('bf-syn-');
  mkdirSync(join(dir, 'out'));
  mkdirSync(join(dir, 'logs'));
  let text = '';
  return {
    task,
    slot: { index: 0, cpu: 0, siblings: [] },
    outDir: join(dir, 'out'),
    logsDir: join(dir, 'logs'),
    taskDir: dir,
    signal: new AbortController().signal,
    log: createLogger({ json: false, write: () => undefined }),
    onStdout: (s) => {
      text += s;
    },
    onStatus: () => undefined,
    stdout: () => text,
    ...over,
  };
}

describe('synthetic executor', () => {
  it('finishes in milliseconds at size 0, with files a ruby-bench parser reads', async () => {
    const c = ctx();
    const t0 = performance.now();
    const res = await new SyntheticExecutor({ size: 0 }).run(c);
    // no real work at size 0 (a loose bound: a busy CI machine may pause a few hundred ms)
    expect(performance.now() - t0).toBeLessThan(3000);
    expect(res.exitCode).toBe(0);
    const txt = readFileSync(join(c.outDir, 'output_001.txt'), 'utf8');
    const parsed = parseOutputTxt(txt);
    // every row is read: a benchmark timed as 0.0 ms (nothing to do at size 0) is named in the
    // parser's one "too fast to measure" warning rather than kept as a sample
    const tooFast = parsed.warnings.join(' ').match(/"[^"]+"/g) ?? [];
    expect(parsed.samples.length + tooFast.length).toBe(7);
    for (const w of parsed.warnings) expect(w).toMatch(/took 0\.0 ms on average, too fast to measure/);
  });

  it('times the benchmarks a task names in a worker while the main thread stays free', async () => {
    const c = ctx({
      task: { ...task, benchmarks: ['fib', 'nbody', 'optcarrot'], ruby_bench_env: { MIN_BENCH_ITRS: 4 } },
    });
    let ticks = 0;
    const timer = setInterval(() => ticks++, 5);
    await new SyntheticExecutor({ size: 3 }).run(c);
    clearInterval(timer);
    expect(ticks).toBeGreaterThan(3);
    const files = {
      txt: readFileSync(join(c.outDir, 'output_001.txt'), 'utf8'),
      json: readFileSync(join(c.outDir, 'output_001.json'), 'utf8'),
    };
    const parsed = parseOutputFiles(files);
    expect(parsed.source).toBe('output.json');
    expect(parsed.warnings).toEqual([]);
    expect(parsed.samples.map((s) => s.bench).sort()).toEqual(['fib', 'nbody', 'optcarrot']);
    expect(Object.values(parsed.executables)[0]).toMatch(/^SYNTHETIC .* not Ruby$/);
    const raw = JSON.parse(files.json) as { raw_data: { synthetic: Record<string, { bench: number[] }> } };
    expect(raw.raw_data.synthetic.fib?.bench).toHaveLength(4);
    expect(raw.raw_data.synthetic.fib?.bench.every((s) => s > 0)).toBe(true);
    expect(readFileSync(join(c.outDir, 'output_001.csv'), 'utf8')).toMatch(
      /^synthetic,SYNTHETIC .*\n\nbench,synthetic \(ms\)\nfib,[\d.]+ ± [\d.]+%\n/,
    );
    // Progress lines in ruby-bench's form, and the same text in logs/stdout.log.
    const p = new ProgressTracker();
    p.push(c.stdout());
    expect(p.state).toMatchObject({ benchmark: 'optcarrot', pass: 1 });
    expect(readFileSync(join(c.logsDir, 'stdout.log'), 'utf8')).toBe(c.stdout());
  });

  it('stops the worker when the task is aborted', async () => {
    const ac = new AbortController();
    const c = ctx({ signal: ac.signal });
    setTimeout(() => ac.abort('cancelled'), 100);
    const t0 = Date.now();
    await expect(new SyntheticExecutor({ size: 10_000 }).run(c)).rejects.toMatchObject({
      errorType: 'cancelled',
    });
    expect(Date.now() - t0).toBeLessThan(3000);
  });
});
