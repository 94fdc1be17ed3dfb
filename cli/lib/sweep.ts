// The nuke sweep's frame: steps that find tagged resources and delete them, run in dependency
// order, then one more look to report what is left. Provider modules supply the steps.
import { AWS_CREDENTIAL_ERRORS, CredentialsError, describe, isAwsRegionMissing } from './errors';
import { pollMs, sleep } from './progress';

export { PROJECT_TAG_KEY as TAG_KEY } from '../../lambdas/shared/fleet-plan';

export interface Resource {
  provider: 'aws' | 'azure';
  kind: string;
  id: string;
  /** Extra words for the listing (name, state). */
  note?: string;
  /** Still going away on its own (Azure's --no-wait): not a survivor, not deleted by us. */
  deleting?: boolean;
}

export interface SweepStep {
  provider: 'aws' | 'azure';
  kind: string;
  find(): Promise<Resource[]>;
  remove(r: Resource): Promise<void>;
  /** Runs once before the removals of this step (security groups drop their references to each other). */
  prepare?(found: Resource[]): Promise<void>;
  /** Waits until the removed resources are really gone (instances, NAT gateways). */
  settle?(removed: Resource[]): Promise<void>;
}

export interface SweepReport {
  found: Resource[];
  deleted: Resource[];
  failed: Array<Resource & { error: string }>;
  left: Resource[];
  skipped: string[];
}

const line = (r: Resource): string => `${r.provider} ${r.kind} ${r.id}${r.note ? ` (${r.note})` : ''}`;
export const log = (s: string): boolean => process.stderr.write(`${s}\n`);

/**
 * Finds everything (dry run) or deletes step by step, in the order given. A provider that could not
 * be listed is logged as it happens, unless `logSkips` is false: the caller's summary says it.
 */
export async function sweep(
  steps: SweepStep[],
  opts: { dryRun: boolean; logSkips?: boolean },
): Promise<SweepReport> {
  const report: SweepReport = { found: [], deleted: [], failed: [], left: [], skipped: [] };
  if (opts.logSkips === false) quiet.add(report);
  if (opts.dryRun) {
    for (const step of steps) {
      const found = await findSafely(step, report);
      report.found.push(...found);
      for (const r of found) log(`  would delete ${line(r)}`);
    }
    return report;
  }
  for (const step of steps) {
    // Found right before its turn, so earlier deletions (instances taking their volumes) count.
    const found = (await findSafely(step, report)).filter((r) => !r.deleting);
    report.found.push(...found);
    const removed: Resource[] = [];
    if (found.length && step.prepare) {
      await step
        .prepare(found)
        .catch((err: unknown) => log(`  preparing ${step.kind} failed: ${describe(err)}`));
    }
    for (const r of found) {
      log(`  found ${line(r)}: deleting`);
      try {
        await step.remove(r);
        removed.push(r);
      } catch (err) {
        log(`  could not delete ${line(r)}: ${describe(err)}`);
        report.failed.push({ ...r, error: describe(err) });
      }
    }
    if (removed.length && step.settle) {
      try {
        await step.settle(removed);
      } catch (err) {
        log(`  waiting for ${step.kind} deletions failed: ${describe(err)}`);
      }
    }
    report.deleted.push(...removed);
  }
  log('\n== looking again ==');
  for (const step of steps) report.left.push(...(await findSafely(step, report)));
  return report;
}

/** Providers whose credentials were refused (or with no region): their other steps are skipped, not failed one by one. */
const refused = new WeakMap<SweepReport, Set<string>>();
/** Sweeps whose skipped providers only the summary names. */
const quiet = new WeakSet<SweepReport>();

async function findSafely(step: SweepStep, report: SweepReport): Promise<Resource[]> {
  const blocked = refused.get(report) ?? new Set<string>();
  refused.set(report, blocked);
  if (blocked.has(step.provider)) return [];
  try {
    return await step.find();
  } catch (err) {
    const name = (err as Error).name;
    // No region: every AWS step fails alike, so it is said once, for all of them.
    const noRegion = isAwsRegionMissing(err);
    if (noRegion || err instanceof CredentialsError || AWS_CREDENTIAL_ERRORS.includes(name))
      blocked.add(step.provider);
    const msg = noRegion
      ? `could not list any ${step.provider} resource: ${describe(err)}`
      : `could not list ${step.provider} ${step.kind}: ${describe(err)}`;
    // two steps of one kind (the log groups) failing alike, or the second look: said once
    if (!report.skipped.includes(msg)) {
      report.skipped.push(msg);
      if (!quiet.has(report)) log(`  ${msg}`);
    }
    return [];
  }
}

export function summarize(report: SweepReport, dryRun: boolean): string[] {
  if (dryRun) {
    // "0 found" is only true of what could be listed: say what could not
    const checked = report.skipped.length === 0 ? '' : ` where it could look (see "not checked" below)`;
    return [
      `dry run: ${report.found.length} tagged resource(s) found${checked}, nothing was changed`,
      ...report.skipped.map((s) => `  not checked: ${s}`),
    ];
  }
  const lines = [`deleted ${report.deleted.length} of ${report.found.length} tagged resource(s) found`];
  const survivors = report.left.filter((r) => !r.deleting);
  const going = report.left.filter((r) => r.deleting);
  if (survivors.length === 0) {
    lines.push(
      `0 resources left${going.length ? ` (${going.length} still being deleted by the provider)` : ''}`,
    );
  } else {
    lines.push(`${survivors.length} resource(s) left:`);
    for (const r of survivors) lines.push(`  ${line(r)}`);
    lines.push('run `benchfleet nuke` again in a few minutes, or delete them by hand');
  }
  for (const f of report.failed) lines.push(`  failed: ${line(f)}: ${f.error}`);
  for (const s of report.skipped) lines.push(`  not checked: ${s}`);
  return lines;
}

/** Polls `check` until it is true; gives up quietly after `timeoutMs` (the second look reports it). */
export async function waitUntil(
  what: string,
  check: () => Promise<boolean>,
  timeoutMs: number,
): Promise<void> {
  const started = Date.now();
  const deadline = started + timeoutMs;
  log(`  waiting for ${what}`);
  let said = started;
  while (!(await check())) {
    if (Date.now() > deadline) {
      log(`  gave up waiting for ${what}`);
      return;
    }
    // a wait of minutes says it is still at it: every 12 poll intervals, a minute at the usual 5 s
    if (Date.now() - said >= 12 * pollMs()) {
      said = Date.now();
      log(`  still waiting for ${what} (${Math.round((said - started) / 1000)} s so far)`);
    }
    await sleep(pollMs());
  }
}
