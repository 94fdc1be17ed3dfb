// Price file: instance type -> hourly price. JSON (`{"c7a.large": 0.1}`) or text lines
// (`c7a.large,0.1`, `c7a.large 0.1`; `#` comments and a header line are fine).

export interface Prices {
  prices: Record<string, number>;
  warnings: string[];
}

function priceOf(v: unknown): number | null {
  const n = typeof v === 'number' ? v : typeof v === 'string' ? Number(v.replace(/^\$/, '')) : Number.NaN;
  return Number.isFinite(n) && n > 0 ? n : null;
}

export function parsePrices(text: string, file = 'the price file'): Prices {
  const out: Prices = { prices: {}, warnings: [] };
  const trimmed = text.trim();
  if (trimmed.startsWith('{')) {
    let doc: unknown;
    try {
      doc = JSON.parse(trimmed);
    } catch (err) {
      out.warnings.push(`${file} is not valid JSON (${(err as Error).message}); no prices shown`);
      return out;
    }
    for (const [type, v] of Object.entries(doc as Record<string, unknown>)) {
      const p = priceOf(v);
      if (p === null) out.warnings.push(`${file}: the price of ${type} is not a positive number; skipped`);
      else out.prices[type] = p;
    }
    return out;
  }
  trimmed.split(/\r?\n/).forEach((line, k) => {
    const content = line.replace(/#.*/, '').trim();
    if (content === '') return;
    const [type, value, ...rest] = content.split(/\s*[,;\t]\s*|\s+/);
    const p = priceOf(value);
    if (type && p !== null && rest.length === 0) out.prices[type] = p;
    else if (k > 0 || p !== null)
      out.warnings.push(`${file} line ${k + 1}: expected "instance_type,price"; skipped`);
  });
  return out;
}
