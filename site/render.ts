// The page: one static index.html with every section, linking style.css and the data downloads.
// Nothing in it depends on the clock or the machine, so the same input gives the same bytes.
import { SYNTHETIC_EXE } from '../lambdas/shared/enums';
import type { Aggregate } from './aggregate';
import { esc, num } from './html';
import type { LoadedRun, TaskResult } from './model';
import type { PriceSource } from './prices';
import { chartsSection, matrixSection, priceSection, rankingSection } from './render-results';

export interface PageInput {
  run: LoadedRun;
  agg: Aggregate;
  /** Label for the run when the manifest gives no id (the folder's name). */
  label: string;
  /** Where the prices come from; null: no type has one, and there is no price section. */
  priceSource: PriceSource | null;
  warnings: string[];
}

function rubyDescriptions(run: LoadedRun): string[] {
  const seen = new Set<string>();
  for (const t of run.tasks) {
    for (const [exe, desc] of Object.entries(t.output?.executables ?? {})) seen.add(`${exe}: ${desc}`);
  }
  return [...seen].sort();
}

function summary(input: PageInput): string {
  const { run } = input;
  const count = (o: TaskResult['outcome']): number => run.tasks.filter((t) => t.outcome === o).length;
  const facts: Array<[string, string]> = [
    ['run', run.runId === null ? esc(input.label) : String(run.runId)],
    ['status', esc(run.status ?? (run.hasManifest ? 'unknown' : 'no manifest.json'))],
    [
      'ruby version',
      esc(run.rubyVersion ?? 'unknown') +
        (onlySynthetic(input.agg.executables) ? ' (not used: the synthetic workload runs no Ruby)' : ''),
    ],
    ['started', esc(run.createdAt ?? '–')],
    ['finished', esc(run.finishedAt ?? '–')],
    ['instance types', String(input.agg.instanceTypes.length)],
    [
      'tasks',
      `${run.tasks.length} (${count('completed')} with results, ${count('failed')} failed, ` +
        (count('benchmarks_failed') ? `${count('benchmarks_failed')} with every benchmark failed, ` : '') +
        `${count('cancelled')} cancelled, ${count('missing') + count('unfinished')} missing or unfinished)`,
    ],
  ];
  const rubies = rubyDescriptions(run);
  return (
    `<dl class="facts">${facts.map(([k, v]) => `<dt>${k}</dt><dd>${v}</dd>`).join('')}</dl>` +
    (rubies.length > 0
      ? `<ul class="rubies">${rubies.map((r) => `<li><code>${esc(r)}</code></li>`).join('')}</ul>`
      : '')
  );
}

function warningsSection(warnings: string[]): string {
  if (warnings.length === 0) return '';
  return (
    `<section id="warnings" class="warnings"><h2>Problems with the results (${warnings.length})</h2>` +
    `<ul>${warnings.map((w) => `<li>${esc(w)}</li>`).join('')}</ul></section>`
  );
}

function hostsSection(run: LoadedRun): string {
  const rows = run.tasks
    .filter((t) => t.meta)
    .map((t) => {
      const m = t.meta!;
      const busy =
        m.sibling_busy === true ? '<span class="flag">busy</span>' : m.sibling_busy === false ? 'idle' : '–';
      // older runners do not say: a dash
      const slots =
        typeof m.busy_slots_at_start === 'number' || typeof m.busy_slots_max === 'number'
          ? `${num(m.busy_slots_at_start, 0)} / ${num(m.busy_slots_max, 0)}`
          : '–';
      return (
        `<tr><th scope="row">${esc(t.folder)}</th><td>${esc(t.provider ?? '–')}</td><td>${esc(m.host_id ?? '–')}</td>` +
        `<td>${esc(m.cpu_model ?? '–')}</td>` +
        `<td class="n">${num(m.vcpus, 0)}</td><td class="n">${num(m.physical_cores, 0)}</td>` +
        `<td class="n">${m.memory_mb ? (m.memory_mb / 1024).toFixed(1) : '–'}</td><td>${esc(m.arch ?? '–')}</td>` +
        `<td>${esc(m.kernel ?? '–')}</td><td>${esc(m.image ?? '–')}</td><td class="n">${num(m.slot_cpu, 0)}</td>` +
        `<td>${busy}</td><td class="n">${slots}</td><td>${esc(m.started_at ?? '–')}</td><td>${esc(m.finished_at ?? '–')}</td></tr>`
      );
    });
  if (rows.length === 0) return '<p class="muted">No meta.json in any task folder: host details unknown.</p>';
  return (
    '<div class="scroll"><table class="hosts"><thead><tr><th>task</th><th>provider</th><th>host</th><th>CPU model</th><th>vCPUs</th>' +
    '<th>cores</th><th>memory (GiB)</th><th>arch</th><th>kernel</th><th>image</th><th>slot CPU</th>' +
    '<th>SMT sibling</th><th title="slots of its runner running a benchmark (its own included) when it started / at most while it ran">' +
    'busy slots</th><th>started</th><th>finished</th></tr></thead>' +
    `<tbody>${rows.join('')}</tbody></table></div>`
  );
}

function failuresSection(run: LoadedRun, agg: Aggregate): string {
  const bad = run.tasks.filter((t) => t.outcome !== 'completed');
  const tasks =
    bad.length === 0
      ? agg.failures.length === 0
        ? '<p>Every task has results.</p>'
        : '<p>Every task has results, but some benchmarks failed in them (below).</p>'
      : '<table><thead><tr><th>task</th><th>provider</th><th>outcome</th><th>attempt</th><th>runner</th><th>reason</th></tr></thead><tbody>' +
        bad
          .map(
            (t) =>
              `<tr><th scope="row">${esc(t.folder)}</th><td>${esc(t.provider ?? '–')}</td>` +
              `<td class="outcome-${t.outcome}">${t.outcome}</td><td class="n">${t.manifestTask?.attempt ?? '–'}</td>` +
              `<td>${esc(t.manifestTask?.runner_id ?? t.meta?.runner_id ?? '–')}</td><td>${esc(t.reason ?? '')}</td></tr>`,
          )
          .join('') +
        '</tbody></table>';
  // Every failed run is listed, also where the benchmark has results from other runs.
  const benches =
    agg.failures.length === 0
      ? ''
      : "<h3>Benchmarks that failed (N/A in ruby-bench's table)</h3><ul>" +
        agg.failures
          .map((f) => {
            const others =
              f.resultRuns.length === 0
                ? ''
                : ` (run ${f.resultRuns.join(', ')} ${f.resultRuns.length === 1 ? 'has a result' : 'have results'})`;
            return `<li>${esc(f.bench)} (${esc(f.exe)}) on ${esc(f.instanceType)}, run ${f.runs.join(', ')}${others}</li>`;
          })
          .join('') +
        '</ul>';
  return tasks + benches;
}

/** The synthetic workload times JavaScript: a page of its figures must not be headed as Ruby's. */
function whatWasTimed(executables: string[]): string {
  if (onlySynthetic(executables)) return 'Synthetic benchmarks (JavaScript, not Ruby)';
  if (executables.includes(SYNTHETIC_EXE)) return 'Ruby and synthetic (JavaScript, not Ruby) benchmarks';
  return 'Ruby benchmarks';
}

const onlySynthetic = (executables: string[]): boolean =>
  executables.length > 0 && executables.every((e) => e === SYNTHETIC_EXE);

/** Whose prices these are: a list price is not anyone's bill. */
function pricesFrom(source: PriceSource): string {
  if (source.kind === 'file') return `<p class="how">Prices per hour from ${esc(source.file)}.</p>`;
  const regions = Object.entries(source.regions)
    .map(([provider, region]) => `${provider === 'aws' ? 'AWS' : 'Azure'} ${region}`)
    .join(', ');
  return (
    `<p class="how">Prices per hour: public on-demand list prices (Linux; ${esc(regions)}) as of ${esc(source.as_of)}, ` +
    "from Benchfleet's catalog, not your bill. For your own (another region, discounts, savings plans): " +
    '<code>benchfleet site &lt;results folder&gt; --prices FILE</code>.</p>'
  );
}

export function renderPage(input: PageInput): string {
  const { agg } = input;
  const title = `${whatWasTimed(agg.executables)} by instance type: run ${input.run.runId ?? input.label}`;
  // Every result section says so when the run has no result at all, rather than stay empty.
  const none = `<p class="warn">No results${agg.noResults === null ? '' : `: ${esc(agg.noResults)}`}.</p>`;
  const per = (f: (exe: string) => string): string => agg.executables.map(f).join('') || none;
  const sections: Array<[string, string, string]> = [
    ['ranking', 'Ranking', agg.rankings.map((r) => rankingSection(r)).join('') || none],
    ...(input.priceSource
      ? ([
          [
            'price',
            'Price-performance',
            pricesFrom(input.priceSource) + (agg.rankings.map(priceSection).join('') || none),
          ],
        ] as Array<[string, string, string]>)
      : []),
    [
      'matrix',
      'Benchmarks × instance types (mean ms ± CV across runs)',
      per((exe) => matrixSection(exe, agg)),
    ],
    [
      'charts',
      'Per benchmark (bar: mean across runs; whisker: ±1 stddev across runs; dots: single runs; dashed: noisy)',
      per((exe) => chartsSection(exe, agg)),
    ],
    ['hosts', 'Hosts', hostsSection(input.run)],
    ['failures', 'Failed and missing tasks', failuresSection(input.run, agg)],
  ];
  const nav = sections.map(([id, name]) => `<a href="#${id}">${esc(name.replace(/ \(.*/, ''))}</a>`);
  if (input.warnings.length > 0)
    nav.push(
      `<a href="#warnings" class="flag">${input.warnings.length} warning${input.warnings.length === 1 ? '' : 's'}</a>`,
    );
  nav.push('<a href="data.csv" download>data.csv</a>', '<a href="data.json" download>data.json</a>');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title>
<link rel="stylesheet" href="style.css">
</head>
<body>
<header><h1>${esc(title)}</h1><nav>${nav.join('')}</nav></header>
<main>
<section id="summary">${summary(input)}</section>
${warningsSection(input.warnings)}
${sections.map(([id, name, body]) => `<section id="${id}"><h2>${esc(name)}</h2>${body}</section>`).join('\n')}
</main>
<footer>Built by benchfleet from ruby-bench results. Results flagged <span class="flag">noisy</span> had a spread over 5 % (across runs, or across the iterations of one run) or a busy SMT sibling.</footer>
</body>
</html>
`;
}
