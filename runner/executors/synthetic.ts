// The built-in workload for local mode, demos and tests: real JavaScript micro-benchmarks, timed in
// a worker thread (so the heartbeat timer never waits on them), written in ruby-bench's formats
// and labelled SYNTHETIC everywhere a reader could mistake them for Ruby numbers.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { SYNTHETIC_EXE } from '../../lambdas/shared/enums';
import { openLogFiles } from './log-files';
import { type BenchTimes, type FormatInput, formatCsv, formatJson, formatTxt } from './ruby-bench-format';
import { type ExecContext, ExecError, type ExecResult, type Executor, NO_IMAGE } from './types';

export const SYNTHETIC_BENCHMARKS = [
  'fib',
  'nbody',
  'str_concat',
  'array_sort',
  'object_new',
  'json',
  'regex',
];
export const SYNTHETIC_DESCRIPTION = `SYNTHETIC benchfleet workload: JavaScript micro-benchmarks on node ${process.version} [${process.arch}-${process.platform}], not Ruby`;

interface WorkerInput {
  names: string[];
  size: number;
  warmup: number;
  bench: number;
}
type WorkerMessage = { t: 'line'; s: string } | ({ t: 'result' } & BenchTimes);

// Runs inside the worker: it is stringified, so it must not reference anything outside itself.
function workerMain(): void {
  const { parentPort, workerData } = require('node:worker_threads');
  const input = workerData as WorkerInput;
  const kernels: Record<string, (n: number) => unknown> = {
    fib: (n) => {
      const fib = (k: number): number => (k < 2 ? k : fib(k - 1) + fib(k - 2));
      let s = 0;
      for (let i = 0; i < n * 20; i++) s += fib(22);
      return s;
    },
    nbody: (n) => {
      const b = [0, 1, 2, 3, 4].map((i) => ({ x: i, y: i * 2, z: i * 3, vx: 0, vy: 0, vz: 0, m: 1 + i }));
      for (let step = 0; step < n * 40_000; step++) {
        for (const p of b) {
          for (const q of b) {
            if (p === q) continue;
            const dx = p.x - q.x;
            const dy = p.y - q.y;
            const dz = p.z - q.z;
            const d = Math.sqrt(dx * dx + dy * dy + dz * dz) + 0.01;
            const f = (0.001 * q.m) / (d * d * d);
            p.vx -= dx * f;
            p.vy -= dy * f;
            p.vz -= dz * f;
          }
        }
        for (const p of b) {
          p.x += p.vx * 0.01;
          p.y += p.vy * 0.01;
          p.z += p.vz * 0.01;
        }
      }
      return b[0]?.x;
    },
    str_concat: (n) => {
      let s = '';
      for (let i = 0; i < n * 100_000; i++) s += 'ab';
      return s.length;
    },
    array_sort: (n) => {
      let x = 1;
      const a = Array.from({ length: n * 20_000 }, () => {
        x = (x * 48271) % 2147483647;
        return x;
      });
      return a.sort((p, q) => p - q)[0];
    },
    object_new: (n) => {
      let keep: unknown = null;
      for (let i = 0; i < n * 250_000; i++) keep = { i, next: keep === null ? null : i };
      return keep;
    },
    json: (n) => {
      const doc = { a: [1, 2, 3], b: 'text', c: { d: true, e: null, f: 1.5 } };
      let len = 0;
      for (let i = 0; i < n * 3_500; i++) len += JSON.stringify(JSON.parse(JSON.stringify(doc))).length;
      return len;
    },
    regex: (n) => {
      const re = /(\w+)@(\w+)\.com/;
      let hits = 0;
      for (let i = 0; i < n * 40_000; i++) if (re.test(`user${i}@host${i % 7}.com`)) hits++;
      return hits;
    },
  };
  const kernelNames = Object.keys(kernels);
  const pick = (name: string): ((n: number) => unknown) => {
    const own = kernels[name];
    if (own) return own;
    let h = 0;
    for (const c of name) h = (h * 31 + c.charCodeAt(0)) >>> 0;
    return kernels[kernelNames[h % kernelNames.length] as string] as (n: number) => unknown;
  };
  const n = Math.max(1, Math.round(input.size));
  input.names.forEach((name, i) => {
    const k = pick(name);
    parentPort.postMessage({
      t: 'line',
      s: `Running benchmark "${name}" (${i + 1}/${input.names.length})\n`,
    });
    parentPort.postMessage({
      t: 'line',
      s: `+ synthetic ${name} (JavaScript in the benchfleet runner, not Ruby)\nitr:   time\n`,
    });
    const times = (count: number, label: string): number[] =>
      Array.from({ length: count }, (_, j) => {
        const t0 = process.hrtime.bigint();
        k(n);
        const s = Number(process.hrtime.bigint() - t0) / 1e9;
        parentPort.postMessage({
          t: 'line',
          s: `${label}${j + 1}: ${String(Math.round(s * 1000)).padStart(4)}ms\n`,
        });
        return s;
      });
    const warmup = times(input.warmup, ' w');
    const bench = times(input.bench, ' #');
    parentPort.postMessage({ t: 'result', name, warmup, bench, rss: process.memoryUsage().rss });
  });
}

export interface SyntheticOptions {
  /** Work per iteration; 0 runs nothing and finishes in milliseconds. */
  size: number;
}

export class SyntheticExecutor implements Executor {
  readonly name = 'synthetic';
  constructor(private readonly opts: SyntheticOptions) {}

  async run(ctx: ExecContext): Promise<ExecResult> {
    const names = ctx.task.benchmarks?.length ? ctx.task.benchmarks : SYNTHETIC_BENCHMARKS;
    const env = ctx.task.ruby_bench_env ?? {};
    const input: WorkerInput = {
      names,
      size: this.opts.size,
      warmup: Math.min(20, env.WARMUP_ITRS ?? 1),
      bench: Math.max(1, Math.min(50, env.MIN_BENCH_ITRS ?? 3)),
    };
    const logs = openLogFiles(ctx.logsDir, ctx.log);
    const emit = (s: string): void => {
      logs.out(s);
      ctx.onStdout(s);
    };
    ctx.onStatus('running', 'synthetic workload (not Ruby)');
    emit(`benchfleet synthetic executor, size ${this.opts.size}: ${SYNTHETIC_DESCRIPTION}\n`);
    let results: BenchTimes[];
    try {
      results = this.opts.size <= 0 ? instant(names, emit) : await runWorker(input, emit, ctx.signal);
      emit(`Total time spent benchmarking: ${Math.round(sum(results))}s\n`);
    } finally {
      await logs.close();
    }
    const fmt = syntheticFormat(results);
    await writeFile(join(ctx.outDir, 'output_001.txt'), formatTxt(fmt));
    await writeFile(join(ctx.outDir, 'output_001.csv'), formatCsv(fmt));
    await writeFile(join(ctx.outDir, 'output_001.json'), formatJson(fmt, 'benchfleet-runner synthetic'));
    return { exitCode: 0, ...NO_IMAGE };
  }
}

/** What the synthetic workload writes in ruby-bench's formats: timings labelled as not Ruby's. */
export function syntheticFormat(results: BenchTimes[]): FormatInput {
  return {
    exe: SYNTHETIC_EXE,
    description: SYNTHETIC_DESCRIPTION,
    results,
    legend: ['synthetic: these timings come from the benchfleet runner built-in workload, not from Ruby.'],
  };
}

const sum = (rs: BenchTimes[]): number =>
  rs.reduce((a, r) => a + [...r.warmup, ...r.bench].reduce((x, y) => x + y, 0), 0);

function instant(names: string[], emit: (s: string) => void): BenchTimes[] {
  return names.map((name, i) => {
    emit(`Running benchmark "${name}" (${i + 1}/${names.length})\n`);
    return { name, warmup: [], bench: [0.000001] };
  });
}

function runWorker(
  input: WorkerInput,
  emit: (s: string) => void,
  signal: AbortSignal,
): Promise<BenchTimes[]> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(new ExecError('cancelled', 'aborted before start'));
    const results: BenchTimes[] = [];
    // tsx and esbuild's keepNames wrap functions in `__name(...)`: give the worker a no-op one.
    const source = `var __name = (f) => f;\n(${workerMain.toString()})()`;
    const worker = new Worker(source, { eval: true, workerData: input });
    const onAbort = (): void => {
      void worker.terminate();
      reject(new ExecError('cancelled', `synthetic workload stopped: ${String(signal.reason ?? 'aborted')}`));
    };
    signal.addEventListener('abort', onAbort, { once: true });
    worker.on('message', (m: WorkerMessage) => {
      if (m.t === 'line') emit(m.s);
      else results.push({ name: m.name, warmup: m.warmup, bench: m.bench, rss: m.rss });
    });
    worker.on('error', (err) =>
      reject(new ExecError('benchmark_failed', `synthetic worker crashed: ${err.message}`)),
    );
    worker.on('exit', (code) => {
      signal.removeEventListener('abort', onAbort);
      if (code === 0) resolve(results);
      else reject(new ExecError('benchmark_failed', `synthetic worker exited with ${code}`, code));
    });
  });
}
