// Entry point of the site builder: results folder in, static site out. The master CLI calls
// buildSite at the end of every run; `benchfleet site` calls it by hand.
import { readFile, writeFile } from 'node:fs/promises';
import { basename, join, relative, resolve } from 'node:path';
import { makeDir } from '../lambdas/shared/make-dir';
import { aggregate } from './aggregate';
import { toCsv, toJson } from './export';
import { loadResults } from './load';
import { listPrices, type PriceSource, parsePrices } from './prices';
import { renderPage } from './render';
import { STYLE_CSS } from './style';

/** Default output folder inside the results folder. */
export const DEFAULT_SITE_FOLDER = 'site';
/** The files a build writes into its output folder (and rewrites on every build). */
export const SITE_FILES = {
  index: 'index.html',
  style: 'style.css',
  csv: 'data.csv',
  json: 'data.json',
} as const;

export interface BuildSiteOptions {
  resultsDir: string;
  /** Default `<resultsDir>/site`. */
  outDir?: string;
  /** Instance type every other is compared with; default the slowest. */
  baseline?: string;
  /** File of instance type -> hourly price; adds price-performance. */
  pricesFile?: string;
}

export interface BuildSiteResult {
  outDir: string;
  indexHtml: string;
  warnings: string[];
}

/**
 * Builds the site. Bad or missing result files become warnings shown on the page; it throws only
 * when the results folder cannot be read or the output folder cannot be written.
 */
export async function buildSite(opts: BuildSiteOptions): Promise<BuildSiteResult> {
  const resultsDir = resolve(opts.resultsDir);
  const outDir = resolve(opts.outDir ?? join(resultsDir, DEFAULT_SITE_FOLDER));
  // A site folder inside the results folder (the default one, or --out) is never a task.
  const rel = relative(resultsDir, outDir);
  const skip = [
    DEFAULT_SITE_FOLDER,
    ...(rel !== '' && !rel.includes('/') && !rel.startsWith('..') ? [rel] : []),
  ];
  const run = await loadResults(resultsDir, skip);
  const warnings = [...run.warnings];
  let prices: Record<string, number> | undefined;
  let priceSource: PriceSource | null = null;
  if (opts.pricesFile !== undefined) {
    try {
      const parsed = parsePrices(await readFile(opts.pricesFile, 'utf8'), basename(opts.pricesFile));
      prices = parsed.prices;
      priceSource = { kind: 'file', file: basename(opts.pricesFile) };
      warnings.push(...parsed.warnings);
    } catch (err) {
      warnings.push(
        `could not read the price file ${opts.pricesFile}: ${(err as Error).message}; no prices shown`,
      );
    }
  } else {
    // "Fastest for the money" needs prices: the catalog's list prices, unless the operator has theirs
    ({ prices, source: priceSource } = listPrices(run.tasks));
  }
  if (prices === undefined || Object.keys(prices).length === 0) priceSource = null;
  const agg = aggregate(run, { baseline: opts.baseline, prices });
  warnings.push(...agg.warnings);
  const html = renderPage({
    run,
    agg,
    label: basename(resultsDir),
    priceSource,
    warnings,
  });
  makeDir(outDir);
  const indexHtml = join(outDir, SITE_FILES.index);
  await Promise.all([
    writeFile(indexHtml, html),
    writeFile(join(outDir, SITE_FILES.style), STYLE_CSS),
    writeFile(join(outDir, SITE_FILES.csv), toCsv(agg)),
    writeFile(join(outDir, SITE_FILES.json), toJson(run, agg, warnings, priceSource)),
  ]);
  return { outDir, indexHtml, warnings };
}
