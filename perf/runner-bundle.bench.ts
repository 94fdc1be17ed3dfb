// `npm run perf -- runner-bundle`: size of dist/runner.js and how long Node takes to load it (what
// every VM pays at boot and every slot pays in `benchfleet local` child-process mode).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export async function run(): Promise<void> {
  const outDir = mkdtempSync(join(tmpdir(), 'bf-bundle-'));
  try {
    await measure(join(outDir, 'runner.js'));
  } finally {
    rmSync(outDir, { recursive: true, force: true });
  }
}

async function measure(outfile: string): Promise<void> {
  // A computed path: the .mjs build script has no type declarations to resolve.
  const script = join(__dirname, '..', 'scripts', 'build-runner.mjs');
  const { buildRunner } = (await import(script)) as {
    buildRunner: (o: { outfile: string }) => Promise<{ bytes: number }>;
  };
  const { bytes } = await buildRunner({ outfile });
  const probe = `const t = process.hrtime.bigint(); require(${JSON.stringify(outfile)}); process.stdout.write(String(Number(process.hrtime.bigint() - t) / 1e6));`;
  const samples = Array.from({ length: 5 }, () =>
    Number(execFileSync(process.execPath, ['-e', probe], { encoding: 'utf8' })),
  );
  samples.sort((a, b) => a - b);
  const median = samples[Math.floor(samples.length / 2)] ?? Number.NaN;
  console.log(
    JSON.stringify({
      bench: 'bundles',
      name: 'runner',
      kb: Math.round(bytes / 1024),
      init_ms: Math.round(median * 10) / 10,
    }),
  );
}
