// Escaping and number formatting for the renderer. Fixed decimals keep the output deterministic.

export function esc(s: unknown): string {
  return String(s)
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/** Milliseconds with precision that suits the size: 0.123, 12.3, 1234. */
export function ms(v: number): string {
  if (v >= 1000) return v.toFixed(0);
  if (v >= 10) return v.toFixed(1);
  return v.toFixed(3);
}

export function pct(v: number | null): string {
  return v === null ? '–' : `${(v * 100).toFixed(1)} %`;
}

export function ratio(v: number): string {
  return `${v.toFixed(3)}×`;
}

export function num(v: number | null | undefined, digits = 1): string {
  return v === null || v === undefined ? '–' : v.toFixed(digits);
}

/**
 * A stable id for anchors: `yjit`, `str_concat` -> `b-yjit-str_concat`. Any other character is
 * written as `.<hex code>.`, and `-` only separates the parts, so distinct names never share an
 * id (`a.b` -> `b-ruby-a.2e.b`, `a_b` -> `b-ruby-a_b`).
 */
export function anchor(...parts: string[]): string {
  const part = (p: string): string =>
    [...p].map((c) => (/[A-Za-z0-9_]/.test(c) ? c : `.${c.codePointAt(0)!.toString(16)}.`)).join('');
  return `b-${parts.map(part).join('-')}`;
}
