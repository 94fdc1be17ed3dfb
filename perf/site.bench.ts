// Site build time and size for a large run: 40 instance types x 5 runs x 60 benchmarks x 2
// executables (4,800 result cells from 200 task folders of output.json files).
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildSite } from '../site/build';

const TYPES = 40;
const RUNS = 5;
const BENCHES = 60;
const ITERATIONS = 10;

function outputJson(type: number, run: number): string {
  const raw: Record<string, Record<string, { bench: number[]; warmup: number[]; rss: number }>> = {};
  for (const exe of ['interp', 'yjit']) {
    raw[exe] = {};
    for (let b = 0; b < BENCHES; b++) {
      const base = (0.1 + b * 0.05) * (1 + type * 0.02) * (exe === 'yjit' ? 0.6 : 1);
      raw[exe][`bench_${String(b).padStart(2, '0')}`] = {
        warmup: [base * 1.2],
        // deterministic jitter, different per run and iteration
        bench: Array.from(
          { length: ITERATIONS },
          (_, i) => base * (1 + (((run * 7 + i * 13 + b) % 11) - 5) / 500),
        ),
        rss: 20_000_000 + b * 100_000,
      };
    }
  }
  return JSON.stringify({ metadata: { interp: 'ruby 3.4.7', yjit: 'ruby 3.4.7 +YJIT' }, raw_data: raw });
}

export async function run(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'site-bench-'));
  try {
    for (let t = 0; t < TYPES; t++) {
      for (let r = 1; r <= RUNS; r++) {
        const folder = join(dir, `type${t}.large-${r}`);
        mkdirSync(folder);
        writeFileSync(join(folder, 'output.json'), outputJson(t, r));
      }
    }
    const started = process.hrtime.bigint();
    const site = await buildSite({ resultsDir: dir });
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    const cells = TYPES * BENCHES * 2;
    console.log(
      JSON.stringify({
        bench: 'site.build',
        tasks: TYPES * RUNS,
        cells,
        ms: Math.round(ms),
        warnings: site.warnings.length,
      }),
    );
    for (const f of ['index.html', 'data.json', 'data.csv']) {
      console.log(
        JSON.stringify({ bench: 'site.size', file: f, bytes: statSync(join(site.outDir, f)).size }),
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
