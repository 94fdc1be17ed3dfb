// The site's stylesheet, written as style.css beside index.html (no fonts or assets to fetch).
export const STYLE_CSS = `:root {
  --fg: #1d2330; --muted: #667085; --line: #d9dee7; --bg: #fff; --panel: #f6f8fb;
  --bar: #5b7db8; --hl: #c9853a; --best: #d8f0dc; --good: #eaf6e2; --mid: #fbf3d9; --slow: #f9e0dc;
  --warn: #9a3412; --cell-note: #475467;
}
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: var(--bg); }
header { position: sticky; top: 0; z-index: 1; background: #1d2b45; color: #fff; padding: 10px 24px; }
header h1 { margin: 0 0 4px; font-size: 18px; font-weight: 600; }
nav { display: flex; flex-wrap: wrap; gap: 14px; font-size: 13px; }
nav a { color: #cfe0ff; text-decoration: none; }
nav a:hover { text-decoration: underline; }
main { padding: 8px 24px 24px; max-width: 1400px; }
h2 { font-size: 17px; margin: 28px 0 8px; padding-bottom: 4px; border-bottom: 2px solid var(--line); }
h3 { font-size: 15px; margin: 18px 0 6px; }
.facts { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; margin: 12px 0; }
.facts dt { color: var(--muted); }
.facts dd { margin: 0; }
.rubies { margin: 4px 0; padding-left: 18px; color: var(--muted); }
table { border-collapse: collapse; margin: 6px 0; font-variant-numeric: tabular-nums; }
th, td { border-bottom: 1px solid var(--line); padding: 4px 10px; text-align: left; vertical-align: top; }
thead th { background: var(--panel); font-weight: 600; white-space: nowrap; }
tbody th { font-weight: 500; white-space: nowrap; }
td.n { text-align: right; white-space: nowrap; }
.strong { font-weight: 700; }
tr.baseline { background: #fff6ea; }
.how, .muted { color: var(--muted); max-width: 900px; }
.warn { color: var(--warn); }
.flag { display: inline-block; padding: 0 5px; border-radius: 3px; background: #fde7d6; color: var(--warn); font-size: 11px; font-weight: 600; }
.pair { display: flex; flex-wrap: wrap; gap: 24px; align-items: flex-start; }
.scroll { overflow-x: auto; }
.hosts td, .hosts th { white-space: nowrap; }
.matrix td { text-align: right; white-space: nowrap; }
.matrix td small { color: var(--cell-note); }
.matrix td.best { background: var(--best); }
.matrix td.good { background: var(--good); }
.matrix td.mid { background: var(--mid); }
.matrix td.slow { background: var(--slow); }
.matrix td.noisy { outline: 2px dashed #e0a36d; outline-offset: -3px; }
.matrix td.failed { color: var(--warn); text-align: center; }
.matrix td.none { color: var(--muted); text-align: center; }
.charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(560px, 1fr)); gap: 12px; }
figure { margin: 0; padding: 8px 10px; border: 1px solid var(--line); border-radius: 6px; background: var(--panel); }
figcaption { font-weight: 600; margin-bottom: 4px; }
svg.chart { max-width: 100%; height: auto; display: block; }
svg .bar { fill: var(--bar); }
svg .bar.hl { fill: var(--hl); }
svg .bar.noisy { fill: #a9bcdc; stroke: var(--hl); stroke-width: 1.5; stroke-dasharray: 3 2; }
svg .whisker { stroke: #1d2330; stroke-width: 1.4; fill: none; }
svg .run { fill: #fff; stroke: #1d2330; stroke-width: 1; }
svg .label { text-anchor: end; font-size: 12px; fill: var(--fg); }
svg .value { text-anchor: end; font-size: 12px; fill: var(--fg); font-variant-numeric: tabular-nums; }
svg .tick { text-anchor: middle; font-size: 10px; fill: var(--muted); }
svg .axis { stroke: var(--line); }
svg .ref { stroke: var(--hl); stroke-dasharray: 4 3; }
.warnings { border-left: 4px solid #e0a36d; padding: 2px 14px; background: #fff8f1; }
.warnings li { font-family: ui-monospace, monospace; font-size: 12px; }
.outcome-failed, .outcome-benchmarks_failed, .outcome-missing, .outcome-unfinished { color: var(--warn); font-weight: 600; }
.outcome-cancelled { color: var(--muted); font-weight: 600; }
footer { padding: 16px 24px; color: var(--muted); border-top: 1px solid var(--line); }
`;
