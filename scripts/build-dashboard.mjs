// Builds the static dashboard into one folder: esbuild bundles dashboard/src/main.ts into app.js,
// and index.html and styles.css are copied beside it. config.json is not built: the CDK deployment
// and the local server write it. Plain JS like build-runner.mjs, so scripts/build.mjs can import it.
// `node scripts/build-dashboard.mjs [outDir]` builds by hand and prints the sizes.
import { copyFile, mkdir, readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const SRC = join(ROOT, 'dashboard');
/** The budget for the whole page (HTML, CSS, script), gzipped. */
export const MAX_GZIP_BYTES = 50 * 1024;
export const DASHBOARD_FILES = ['index.html', 'styles.css', 'app.js'];

/**
 * Builds into outDir (relative to the working directory), prints each file's size and the gzipped
 * total, and fails when the total is over the budget.
 * @param {string} [outDir]
 * @param {{ quiet?: boolean }} [opts]
 * @returns {Promise<{ outDir: string, files: Array<{ name: string, bytes: number, gzipBytes: number }>, gzipTotal: number }>}
 */
export async function buildDashboard(outDir = 'dashboard/dist', opts = {}) {
  const out = resolve(outDir);
  await mkdir(out, { recursive: true });
  await build({
    entryPoints: [join(SRC, 'src', 'main.ts')],
    outfile: join(out, 'app.js'),
    bundle: true,
    minify: true,
    format: 'iife',
    // evergreen browsers: class fields and optional chaining stay unlowered (smaller)
    target: ['chrome100', 'firefox100', 'safari15'],
    legalComments: 'none',
    logLevel: 'warning',
  });
  await copyFile(join(SRC, 'index.html'), join(out, 'index.html'));
  await copyFile(join(SRC, 'styles.css'), join(out, 'styles.css'));

  const files = await Promise.all(
    DASHBOARD_FILES.map(async (name) => {
      const body = await readFile(join(out, name));
      return { name, bytes: body.length, gzipBytes: gzipSync(body, { level: 9 }).length };
    }),
  );
  const gzipTotal = files.reduce((n, f) => n + f.gzipBytes, 0);
  if (!opts.quiet) {
    const kb = (/** @type {number} */ n) => `${(n / 1024).toFixed(1)} KB`;
    for (const f of files)
      console.log(`  ${f.name.padEnd(12)} ${kb(f.bytes).padStart(9)}  gzip ${kb(f.gzipBytes)}`);
    console.log(`dashboard: ${kb(gzipTotal)} gzipped in total (budget ${kb(MAX_GZIP_BYTES)}) -> ${out}`);
  }
  if (gzipTotal > MAX_GZIP_BYTES) {
    throw new Error(`the dashboard is ${gzipTotal} bytes gzipped, over the ${MAX_GZIP_BYTES}-byte budget`);
  }
  return { outDir: out, files, gzipTotal };
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  buildDashboard(process.argv[2]).catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
