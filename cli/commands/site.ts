// `benchfleet site <dir>`: builds the comparison site from an unpacked results folder.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import { buildSite } from '../../site/build';
import { folderNames } from '../../site/load';
import { forTerminal } from '../lib/terminal';

interface SiteFlags {
  out?: string;
  baseline?: string;
  prices?: string;
  json?: boolean;
}

/** How many warnings to print in the terminal; the page lists all of them. */
const SHOWN_WARNINGS = 10;

export function register(program: Command): void {
  program
    .command('site')
    .description('build the HTML site that compares instance types from a results folder (results/<run-id>)')
    .argument('<dir>', 'results folder: manifest.json (optional) and <instance_type>-<run>/ folders')
    .option('--out <dir>', 'where to write the site (default: <dir>/site)')
    .option('--baseline <instance-type>', 'compare every type with this one (default: the slowest)')
    .option(
      '--prices <file>',
      'hourly prices, JSON {"type": price} or lines "type,price" (default: the catalog\'s list prices)',
    )
    .option('--json', 'print {outDir, indexHtml, warnings} as JSON on stdout')
    .action(async (dir: string, flags: SiteFlags) => {
      try {
        // A price file the user named must be read; the site builder alone would only warn.
        if (flags.prices !== undefined) await readPrices(flags.prices);
        await requireResults(dir);
        const result = await buildSite({
          resultsDir: dir,
          ...(flags.out !== undefined && { outDir: flags.out }),
          ...(flags.baseline !== undefined && { baseline: flags.baseline }),
          ...(flags.prices !== undefined && { pricesFile: flags.prices }),
        });
        if (flags.json) {
          process.stdout.write(`${JSON.stringify(result)}\n`);
          return;
        }
        console.log(`site written to ${result.indexHtml}`);
        if (result.warnings.length > 0) {
          console.warn(`${result.warnings.length} problem(s) with the results, also listed on the page:`);
          for (const w of result.warnings.slice(0, SHOWN_WARNINGS)) console.warn(`  - ${forTerminal(w)}`);
          if (result.warnings.length > SHOWN_WARNINGS)
            console.warn(`  ... and ${result.warnings.length - SHOWN_WARNINGS} more`);
        }
      } catch (err) {
        console.error(`benchfleet site: ${forTerminal((err as Error).message)}`);
        process.exitCode = 1;
      }
    });
}

/**
 * A folder with no manifest.json and no task folder is not a results folder (a wrong path, or the
 * parent `results/`): refused, rather than an empty site written into it.
 */
async function requireResults(dir: string): Promise<void> {
  const entries = await readdir(dir, { withFileTypes: true }).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT' || err.code === 'ENOTDIR') return undefined; // the builder says so
    throw err;
  });
  if (entries === undefined) return;
  const names = entries.map((e) => e.name);
  if (names.includes('manifest.json')) return;
  const folders = (await folderNames(dir, entries)).filter((name) => name !== 'site');
  if (folders.some((name) => /-\d+$/.test(name))) return;
  const runs = folders.filter((name) => /^\d+$/.test(name));
  throw new Error(
    `${dir} holds no results: no manifest.json and no <instance_type>-<run>/ folder` +
      (runs.length
        ? `; it holds run folders: try \`benchfleet site ${join(dir, runs.sort().at(-1) as string)}\``
        : '; point it at results/<run-id>'),
  );
}

async function readPrices(file: string): Promise<void> {
  try {
    await readFile(file);
  } catch (err) {
    throw new Error(
      `cannot read the price file ${file} (${(err as Error).message}); fix the path, or leave out --prices`,
    );
  }
}
