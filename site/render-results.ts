// The result sections of the page: ranking, price-performance, matrix, one chart per benchmark.
import type { Aggregate, Cell } from './aggregate';
import { barChart, formatMs, formatRatio } from './charts';
import { anchor, esc, ms, num, pct, ratio } from './html';
import type { Ranking, RankRow } from './ranking';

function ciText(r: Ranking, row: Ranking['rows'][number]): string {
  if (row.instanceType === r.baseline) return 'baseline';
  if (!row.ci) return `<span class="muted" title="${esc(row.ciNote ?? 'no interval')}">–</span>`;
  return `${row.ci.low.toFixed(3)} – ${row.ci.high.toFixed(3)}`;
}

/**
 * Runs the estimate rests on, of all the type's runs: those that lack a compared benchmark, and
 * those with no results at all (a failed or timed-out task), are named in the title and flagged.
 */
function runsCell(row: Ranking['rows'][number]): string {
  const total = row.runsUsed + row.runsLacking.length + row.runsLost.length;
  if (total === row.runsUsed) return `<td class="n">${row.runsUsed}</td>`;
  const why = [
    ...(row.runsLacking.length > 0
      ? [
          `run ${row.runsLacking.join(', ')} lack${row.runsLacking.length === 1 ? 's' : ''} a compared benchmark (it failed there) and is left out`,
        ]
      : []),
    ...row.runsLost.map((l) => `run ${l.run} has no results (${l.why})`),
  ].join('; ');
  const text = `${row.runsUsed} of ${total}`;
  return `<td class="n" title="${esc(why)}">${row.runsLost.length > 0 ? `<span class="flag">${text}</span>` : text}</td>`;
}

/** The type's name, flagged when it lacks benchmarks that the others completed (they are left out). */
function typeCell(row: Ranking['rows'][number]): string {
  const lacks =
    row.lacks.length === 0
      ? ''
      : ` <span class="flag" title="lacks ${esc(row.lacks.join(', '))}: left out of every type's mean">lacks ${row.lacks.length}</span>`;
  return `<th scope="row">${esc(row.instanceType)}${lacks}</th>`;
}

export function rankingSection(r: Ranking): string {
  const head = `<h3>${esc(r.exe)}</h3>`;
  if (r.rows.length === 0) {
    return `${head}<p class="warn">No ranking: no benchmark was completed on every instance type.</p>`;
  }
  const how =
    `Relative speed = geometric mean over ${r.common.length} benchmark${r.common.length === 1 ? '' : 's'} of ` +
    `(baseline time / this type's time), each time the geometric mean over the runs that completed all of them; ` +
    `baseline <strong>${esc(r.baseline)}</strong> ` +
    `(${r.baselineChosen === 'given' ? 'chosen with --baseline' : 'the slowest type'}). ` +
    'The interval is a 95 % confidence interval across those runs. Above 1 is faster than the baseline.';
  const rows = r.rows
    .map(
      (row, k) =>
        `<tr${row.instanceType === r.baseline ? ' class="baseline"' : ''}><td class="n">${k + 1}</td>` +
        `${typeCell(row)}<td class="n strong">${ratio(row.relSpeed)}</td>` +
        `<td class="n">${ciText(r, row)}</td>${runsCell(row)}` +
        `<td class="n">${ms(row.geomeanMs)}</td>` +
        `<td class="n">${row.noisyCells > 0 ? `<span class="flag">${row.noisyCells} noisy</span>` : '0'}</td></tr>`,
    )
    .join('');
  const chart = barChart(
    r.rows.map((row) => ({
      label: row.instanceType,
      value: row.relSpeed,
      low: row.ci?.low,
      high: row.ci?.high,
      tone: row.instanceType === r.baseline ? 'hl' : undefined,
      title: `${row.instanceType}: ${ratio(row.relSpeed)} the speed of ${r.baseline}`,
    })),
    { format: formatRatio, unit: `relative speed of ${r.exe}`, ref: 1 },
  );
  const excluded =
    r.excluded.length === 0
      ? ''
      : `<p class="muted">Left out of the mean (not completed everywhere): ${r.excluded
          .map((e) => `${esc(e.bench)} (missing on ${e.missingOn.map(esc).join(', ')})`)
          .join('; ')}.</p>`;
  const unranked =
    r.unranked.length === 0
      ? ''
      : `<p class="warn">No ${esc(r.exe)} results at all from: ${r.unranked.map(esc).join(', ')}.</p>`;
  const table =
    '<table class="ranking"><thead><tr><th>#</th><th>instance type</th><th>relative speed</th>' +
    '<th>95 % CI</th><th>runs</th><th>geo. mean (ms)</th><th>noisy</th></tr></thead>' +
    `<tbody>${rows}</tbody></table>`;
  return `${head}<p class="how">${how}</p><div class="pair">${table}${chart}</div>${excluded}${unranked}`;
}

export function priceSection(r: Ranking): string {
  const priced = r.rows.filter((row) => row.speedPerDollar !== null);
  if (priced.length === 0)
    return `<h3>${esc(r.exe)}</h3><p class="muted">No instance type of this ranking has a price.</p>`;
  // A machine runs one Ruby process per vCPU, as the runners did: its work for the money is what
  // ranks, when every priced type's vCPU count is known.
  const byWork = priced.every((row) => row.workPerDollar !== null);
  const value = (row: RankRow): number => (byWork ? row.workPerDollar! : row.speedPerDollar!);
  const best = Math.max(...priced.map(value));
  const strong = (ranks: boolean, x: number | null): string =>
    `<td class="n${ranks ? ' strong' : ''}">${x === null ? '–' : x.toFixed(2)}</td>`;
  const rows = [...priced]
    .sort((a, b) => value(b) - value(a) || (a.instanceType < b.instanceType ? -1 : 1))
    .map(
      (row, k) =>
        `<tr><td class="n">${k + 1}</td><th scope="row">${esc(row.instanceType)}</th>` +
        `<td class="n">$${row.pricePerHour!.toFixed(4)}</td><td class="n">${num(row.vcpus, 0)}</td>` +
        `<td class="n">${ratio(row.relSpeed)}</td>${strong(!byWork, row.speedPerDollar)}` +
        `${strong(byWork, row.workPerDollar)}<td class="n">${pct(value(row) / best)}</td></tr>`,
    )
    .join('');
  const unpriced = r.rows.filter((row) => row.speedPerDollar === null).map((row) => esc(row.instanceType));
  const uncounted = priced.filter((row) => row.workPerDollar === null).map((row) => esc(row.instanceType));
  const how = byWork
    ? 'Ranked by work per $/h: the relative speed of one Ruby process times the vCPUs of the machine ' +
      '(the runners ran one ruby-bench per vCPU, all at once), per dollar-hour of the machine. ' +
      'Speed per $/h is for one Ruby process per machine.'
    : `Ranked by speed per $/h (one Ruby process per machine): no meta.json gives the vCPUs of ${uncounted.join(', ')}, ` +
      'so work per $/h (one process per vCPU) cannot rank every type.';
  return (
    `<h3>${esc(r.exe)}</h3><p class="muted">${how}</p><table><thead><tr><th>#</th><th>instance type</th>` +
    '<th>price / hour</th><th>vCPUs</th><th>relative speed</th><th>speed per $/h</th>' +
    '<th>work per $/h (× vCPUs)</th><th>of best value</th></tr></thead>' +
    `<tbody>${rows}</tbody></table>` +
    (unpriced.length > 0 ? `<p class="muted">No price for: ${unpriced.join(', ')}.</p>` : '')
  );
}

function matrixCell(c: Cell | undefined, fastest: number, failedRuns: number[] | undefined): string {
  if (!c) {
    return failedRuns
      ? `<td class="failed" title="ruby-bench reported N/A in run ${failedRuns.join(', ')}">failed</td>`
      : '<td class="none">–</td>';
  }
  const rel = fastest / c.meanMs;
  const tier = rel >= 0.98 ? 'best' : rel >= 0.9 ? 'good' : rel >= 0.75 ? 'mid' : 'slow';
  const title = [
    `${c.runs.length} run(s): ${c.runs.map((r) => ms(r.ms)).join(', ')} ms`,
    ...c.noise,
    ...(c.failedRuns.length > 0 ? [`failed in run ${c.failedRuns.join(', ')}`] : []),
  ].join('\n');
  // A failure in some runs is shown in the cell, not only on hover: its mean is of the other runs.
  const failedMark =
    c.failedRuns.length > 0 ? ` <span class="flag">failed in run ${c.failedRuns.join(', ')}</span>` : '';
  return (
    `<td class="${tier}${c.noisy ? ' noisy' : ''}" title="${esc(title)}">${ms(c.meanMs)}` +
    `<small> ±${pct(c.cv)}</small>${c.noisy ? ' <span class="flag">noisy</span>' : ''}${failedMark}</td>`
  );
}

/** Instance types in ranking order (fastest first), then those without a rank, by name. */
function typeOrder(exe: string, agg: Aggregate): string[] {
  const ranked = agg.rankings.find((r) => r.exe === exe)?.rows.map((row) => row.instanceType) ?? [];
  return [...ranked, ...agg.instanceTypes.filter((t) => !ranked.includes(t))];
}

export function matrixSection(exe: string, agg: Aggregate): string {
  const types = typeOrder(exe, agg);
  const cells = new Map(
    agg.cells.filter((c) => c.exe === exe).map((c) => [`${c.instanceType}\u0000${c.bench}`, c]),
  );
  const failed = new Map(
    agg.failures.filter((f) => f.exe === exe).map((f) => [`${f.instanceType}\u0000${f.bench}`, f.runs]),
  );
  const rows = (agg.benchmarks[exe] ?? []).map((bench) => {
    const row = types.map((t) => cells.get(`${t}\u0000${bench}`));
    const fastest = Math.min(...row.filter((c): c is Cell => c !== undefined).map((c) => c.meanMs));
    return (
      `<tr><th scope="row"><a href="#${anchor(exe, bench)}">${esc(bench)}</a></th>` +
      types.map((t, k) => matrixCell(row[k], fastest, failed.get(`${t}\u0000${bench}`))).join('') +
      '</tr>'
    );
  });
  return (
    `<h3>${esc(exe)}</h3><p class="muted">Columns in ranking order. Colour: time against the fastest type ` +
    'for that benchmark (green: within 2 %, light green: 10 %, yellow: 25 %, red: slower). ' +
    'A cell marked “failed in run N” is the mean of its other runs. Hover a cell for every run.</p>' +
    `<div class="scroll"><table class="matrix"><thead><tr><th>benchmark</th>` +
    types.map((t) => `<th>${esc(t)}</th>`).join('') +
    `</tr></thead><tbody>${rows.join('')}</tbody></table></div>`
  );
}

export function chartsSection(exe: string, agg: Aggregate): string {
  const cards = (agg.benchmarks[exe] ?? []).map((bench) => {
    const order = typeOrder(exe, agg);
    const cs = agg.cells
      .filter((c) => c.exe === exe && c.bench === bench)
      .sort((a, b) => order.indexOf(a.instanceType) - order.indexOf(b.instanceType));
    const failedOn = agg.failures
      .filter((f) => f.exe === exe && f.bench === bench)
      .map((f) => esc(f.instanceType) + (f.resultRuns.length > 0 ? ` in run ${f.runs.join(', ')}` : ''));
    const chart =
      cs.length === 0
        ? '<p class="warn">No results.</p>'
        : barChart(
            cs.map((c) => ({
              label: c.instanceType,
              value: c.meanMs,
              low: c.stddevMs === null ? undefined : c.meanMs - c.stddevMs,
              high: c.stddevMs === null ? undefined : c.meanMs + c.stddevMs,
              points: c.runs.map((r) => r.ms),
              tone: c.noisy ? 'noisy' : undefined,
              title: `${c.noisy ? `noisy: ${c.noise.join('; ')}. ` : ''}${c.instanceType}: mean ${ms(c.meanMs)} ms over ${c.runs.length} run(s), min ${ms(c.minMs)}, max ${ms(c.maxMs)}, RSS ${num(c.rssMiB)} MiB`,
            })),
            { format: formatMs, unit: `${bench} time in ms` },
          );
    const failedNote = failedOn.length > 0 ? `<p class="warn">Failed on ${failedOn.join(', ')}.</p>` : '';
    return `<figure id="${anchor(exe, bench)}"><figcaption>${esc(bench)}</figcaption>${chart}${failedNote}</figure>`;
  });
  return `<h3>${esc(exe)}</h3><div class="charts">${cards.join('')}</div>`;
}
