// Price file: instance type -> hourly price. JSON (`{"c7a.large": 0.1}`) or text lines
// (`c7a.large,0.1`, `c7a.large 0.1`; `#` comments and a header line are fine). Without one, the
// catalog's public list prices of the run's cloud types, said as such on the page.
import { listPrice, PRICE_REGIONS, PRICES_AS_OF } from '../lambdas/shared/instance-types';
import type { TaskResult } from './model';

/** Where the page's prices come from: a file the operator gave, or the catalog's list prices. */
export type PriceSource =
  | { kind: 'file'; file: string }
  | { kind: 'list'; as_of: string; regions: Record<string, string> };

/** The catalog's list price of each cloud type of the run that it knows. */
export function listPrices(tasks: TaskResult[]): { prices: Record<string, number>; source: PriceSource } {
  const prices: Record<string, number> = {};
  for (const t of tasks) {
    const price = t.provider ? listPrice(t.provider, t.instanceType) : null;
    if (price !== null) prices[t.instanceType] = price;
  }
  return { prices, source: { kind: 'list', as_of: PRICES_AS_OF, regions: { ...PRICE_REGIONS } } };
}

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
