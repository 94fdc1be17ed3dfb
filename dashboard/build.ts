// Builds the static dashboard: esbuild bundles src/main.ts into app.js, and index.html and
// styles.css are copied beside it. config.json is not built: the CDK deployment and the local
// server write it. Run by hand with `npx tsx dashboard/build.ts [outDir]`.
import { copyFile, mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

const HERE = __dirname;
/** The budget for the whole page (HTML, CSS, script), gzipped. */
export const MAX_GZIP_BYTES = 50 * 1024;
export const DASHBOARD_FILES = ['index.html', 'styles.css', 'app.js'] as const;

export interface BuildReport {
  outDir: string;
  files: Array<{ name: string; bytes: number; gzipBytes: number }>;
  gzipTotal: number;
}

/** Builds into outDir (relative to the working directory) and fails when over the size budget. */
export async function buildDashboard(outDir = 'dashboard/dist'): Promise<void> {
  const report = await buildDashboardWithReport(outDir);
  const kb = (n: number): string => `${(n / 1024).toFixed(1)} KB`;
  for (const f of report.files)
    console.log(`  ${f.name.padEnd(12)} ${kb(f.bytes).padStart(9)}  gzip ${kb(f.gzipBytes)}`);
  console.log(
    `dashboard: ${kb(report.gzipTotal)} gzipped in total (budget ${kb(MAX_GZIP_BYTES)}) -> ${outDir}`,
  );
}

export async function buildDashboardWithReport(outDir = 'dashboard/dist'): Promise<BuildReport> {
  await mkdir(outDir, { recursive: true });
  await build({
    entryPoints: [join(HERE, 'src', 'main.ts')],
    outfile: join(outDir, 'app.js'),
    bundle: true,
    minify: true,
    format: 'iife',
    // evergreen browsers; keeps class fields and optional chaining unlowered (smaller)
    target: ['chrome100', 'firefox100', 'safari15'],
    sourcemap: false,
    legalComments: 'none',
    logLevel: 'warning',
  });
  await copyFile(join(HERE, 'index.html'), join(outDir, 'index.html'));
  await copyFile(join(HERE, 'styles.css'), join(outDir, 'styles.css'));

  const files = await Promise.all(
    DASHBOARD_FILES.map(async (name) => {
      const body = await readFile(join(outDir, name));
      return { name, bytes: body.length, gzipBytes: gzipSync(body, { level: 9 }).length };
    }),
  );
  const gzipTotal = files.reduce((n, f) => n + f.gzipBytes, 0);
  if (gzipTotal > MAX_GZIP_BYTES) {
    throw new Error(`dashboard is ${gzipTotal} bytes gzipped, over the ${MAX_GZIP_BYTES}-byte budget`);
  }
  return { outDir, files, gzipTotal };
}

if (require.main === module) {
  buildDashboard(process.argv[2]).catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
