// `npm run perf` runs every perf/*.bench.ts; `npm run perf -- claims assemble` runs the named ones.
// Each bench module exports `run(): Promise<void>` and prints one JSON line per measurement.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

// stdout is the benchmarks' JSON lines: the in-process handlers' INFO logs (the local assembly's
// progress) would be mixed in, so only their warnings and errors show, unless asked for
process.env.POWERTOOLS_LOG_LEVEL ||= 'WARN';

async function main(): Promise<void> {
  const all = readdirSync(__dirname)
    .filter((f) => f.endsWith('.bench.ts'))
    .map((f) => f.replace(/\.bench\.ts$/, ''))
    .sort();
  const wanted = process.argv.slice(2);
  const unknown = wanted.filter((w) => !all.includes(w));
  if (unknown.length > 0) {
    console.error(`unknown benchmark(s): ${unknown.join(', ')}; available: ${all.join(', ')}`);
    process.exit(2);
  }
  for (const name of wanted.length > 0 ? wanted : all) {
    const mod = (await import(join(__dirname, `${name}.bench.ts`))) as { run: () => Promise<void> };
    await mod.run();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
