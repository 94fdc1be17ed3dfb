// Inline SVG bar charts drawn at build time: nothing to load when the page is viewed.
import { esc, ms, ratio } from './html';

export interface Bar {
  label: string;
  value: number;
  /** Whisker ends; omitted when there is nothing to show (one run, the baseline). */
  low?: number | undefined;
  high?: number | undefined;
  /** Individual runs, drawn as dots on the bar. */
  points?: number[];
  /** Extra class on the bar: `hl` (the baseline) or `noisy`. */
  tone?: 'hl' | 'noisy' | undefined;
  title: string;
}

const ROW = 22;
const LABEL_W = 170;
const VALUE_W = 90;
const WIDTH = 640;

function niceMax(v: number): number {
  if (v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  return ([1, 2, 2.5, 5, 10].find((m) => m * p >= v) ?? 10) * p;
}

/** Horizontal bars; `format` prints the value at the end of each row. */
export function barChart(
  bars: Bar[],
  opts: { format: (v: number) => string; unit: string; ref?: number },
): string {
  const max = niceMax(
    Math.max(...bars.map((b) => Math.max(b.value, b.high ?? 0, ...(b.points ?? []))), opts.ref ?? 0),
  );
  const plotW = WIDTH - LABEL_W - VALUE_W;
  const x = (v: number): number => LABEL_W + (Math.max(0, v) / max) * plotW;
  const height = bars.length * ROW + 24;
  const rows = bars.map((b, k) => {
    const y = k * ROW + 4;
    const mid = y + ROW / 2 - 2;
    const whisker =
      b.low !== undefined && b.high !== undefined
        ? `<path class="whisker" d="M${x(b.low).toFixed(1)} ${mid}H${x(b.high).toFixed(1)}M${x(b.low).toFixed(1)} ${mid - 5}v10M${x(b.high).toFixed(1)} ${mid - 5}v10"/>`
        : '';
    const dots = (b.points ?? [])
      .map((p) => `<circle class="run" cx="${x(p).toFixed(1)}" cy="${mid}" r="2.5"/>`)
      .join('');
    return (
      `<g><title>${esc(b.title)}</title>` +
      `<text class="label" x="${LABEL_W - 8}" y="${mid + 4}">${esc(b.label)}</text>` +
      `<rect class="bar${b.tone ? ` ${b.tone}` : ''}" x="${LABEL_W}" y="${y + 3}" width="${(x(b.value) - LABEL_W).toFixed(1)}" height="${ROW - 10}"/>` +
      `${whisker}${dots}` +
      `<text class="value" x="${WIDTH - 4}" y="${mid + 4}">${esc(opts.format(b.value))}</text></g>`
    );
  });
  const axisY = bars.length * ROW + 8;
  const ticks = [0, 0.25, 0.5, 0.75, 1]
    .map(
      (f) =>
        `<text class="tick" x="${x(f * max).toFixed(1)}" y="${axisY + 12}">${esc(opts.format(f * max))}</text>`,
    )
    .join('');
  const ref = opts.ref === undefined ? '' : `<path class="ref" d="M${x(opts.ref).toFixed(1)} 0V${axisY}"/>`;
  return (
    `<svg class="chart" viewBox="0 0 ${WIDTH} ${height}" width="${WIDTH}" height="${height}" role="img" aria-label="${esc(opts.unit)}">` +
    `<path class="axis" d="M${LABEL_W} ${axisY}H${LABEL_W + plotW}"/>${ticks}${ref}${rows.join('')}</svg>`
  );
}

export const formatMs = (v: number): string => `${ms(v)} ms`;
export const formatRatio = ratio;
