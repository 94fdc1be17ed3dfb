// The end of every run: the archive unpacked into results/<run-id>/ and the site built there.
import { buildSite } from '../../site/build';
import { downloadAndUnpack, resultsDirFor, type SkippedEntry, unpackArchive } from './archive';

export interface ResultsReport {
  run_id: number;
  results_dir: string;
  files: number;
  /** Entries this disk could not hold beside the others (each warned of as it was skipped). */
  skipped_entries: SkippedEntry[];
  site: string | null;
  site_warnings: string[];
  site_error: string | null;
  /** What was in results/<run-id>/ before, when it was not an older copy of this run: kept there. */
  previous_results: { moved_to: string; why: string } | null;
}

/**
 * Unpacks from a URL (the API's presigned `gzip_url`) or a stream (S3 GetObject), then builds the
 * site. `signal` stops the download (its half-written copy is removed). `onUnpacked` is told the
 * folder once every file is in it, before the site is built.
 */
export async function saveResults(
  runId: number,
  source: { url: string } | { stream: NodeJS.ReadableStream },
  root?: string,
  signal?: AbortSignal,
  onUnpacked?: (dir: string) => void,
): Promise<ResultsReport> {
  const dir = resultsDirFor(runId, root);
  process.stderr.write(`\n== download the archive of run ${runId} into ${dir} ==\n`);
  const {
    files,
    movedAside,
    skipped = [],
  } = 'url' in source
    ? await downloadAndUnpack(source.url, dir, { signal })
    : await unpackArchive(source.stream, dir, { signal });
  const skips = skipped.length
    ? `; skipped ${skipped.length} entr${skipped.length === 1 ? 'y' : 'ies'} (see above)`
    : '';
  process.stderr.write(`  unpacked ${files} file(s)${skips}\n`);
  const previous = movedAside ? { moved_to: movedAside.to, why: movedAside.why } : null;
  if (movedAside) {
    process.stderr.write(
      `  ${dir} held other results (${movedAside.why}): they were kept, moved to ${movedAside.to}\n`,
    );
  }
  onUnpacked?.(dir);
  try {
    const site = await buildSite({ resultsDir: dir });
    process.stderr.write(`  site built: ${site.indexHtml}\n`);
    if (site.warnings.length)
      process.stderr.write(`  ${site.warnings.length} warning(s) about the results, listed on the page\n`);
    return {
      run_id: runId,
      results_dir: dir,
      files,
      skipped_entries: skipped,
      site: site.indexHtml,
      site_warnings: site.warnings,
      site_error: null,
      previous_results: previous,
    };
  } catch (err) {
    // The results are safe on disk; a site failure should not hide them.
    const message = (err as Error).message;
    process.stderr.write(
      `  the site could not be built (${message}); retry with \`benchfleet site ${dir}\`\n`,
    );
    return {
      run_id: runId,
      results_dir: dir,
      files,
      skipped_entries: skipped,
      site: null,
      site_warnings: [],
      site_error: message,
      previous_results: previous,
    };
  }
}
