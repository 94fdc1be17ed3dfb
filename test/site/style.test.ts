// WCAG AA contrast of the matrix's text on every cell background, computed from style.css itself.
import { STYLE_CSS } from '../../site/style';

/** #fff -> #ffffff */
const long = (hex: string): string =>
  hex.length === 4 ? `#${[...hex.slice(1)].map((c) => c + c).join('')}` : hex;
const vars = Object.fromEntries(
  [...STYLE_CSS.matchAll(/--([a-z-]+):\s*(#[0-9a-f]{6}|#[0-9a-f]{3})\b/gi)].map((m) => [m[1]!, long(m[2]!)]),
);

/** The value of `prop` in the rule whose selector is exactly `selector`, with var() resolved. */
function declared(selector: string, prop: string): string {
  const rule = STYLE_CSS.split('\n').find((line) => line.startsWith(`${selector} {`));
  const value = rule && new RegExp(`(?:^|[ ;{])${prop}:\\s*([^;]+);`).exec(rule)?.[1]?.trim();
  if (!value) throw new Error(`no ${prop} in ${selector}`);
  const v = /^var\(--([a-z-]+)\)$/.exec(value)?.[1];
  const colour = v === undefined ? long(value) : vars[v];
  if (!colour || !/^#[0-9a-f]{6}$/i.test(colour)) throw new Error(`${selector} ${prop}: ${value}`);
  return colour;
}

/** WCAG 2 relative luminance and contrast ratio. */
function luminance(hex: string): number {
  const [r, g, b] = [1, 3, 5].map((i) => {
    const c = Number.parseInt(hex.slice(i, i + 2), 16) / 255;
    return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * r! + 0.7152 * g! + 0.0722 * b!;
}
function contrast(a: string, b: string): number {
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
  return (hi! + 0.05) / (lo! + 0.05);
}

describe('contrast of the matrix text (WCAG AA: 4.5:1 for normal text)', () => {
  const backgrounds = ['best', 'good', 'mid', 'slow'].map(
    (tier) => [tier, declared(`.matrix td.${tier}`, 'background')] as const,
  );

  it('reads the colours it checks from the stylesheet', () => {
    expect(backgrounds.map(([, bg]) => bg)).toEqual(['#d8f0dc', '#eaf6e2', '#fbf3d9', '#f9e0dc']);
  });

  it('keeps the "± CV" small text at 4.5:1 or more on every cell background', () => {
    const fg = declared('.matrix td small', 'color');
    const ratios = Object.fromEntries(
      [...backgrounds, ['plain', declared('body', 'background')] as const].map(([tier, bg]) => [
        tier,
        Number(contrast(fg, bg).toFixed(2)),
      ]),
    );
    expect(Object.entries(ratios).filter(([, r]) => r < 4.5)).toEqual([]);
  });

  it('keeps the cell text and the flags at 4.5:1 or more', () => {
    const fg = declared('body', 'color');
    for (const [, bg] of backgrounds) expect(contrast(fg, bg)).toBeGreaterThanOrEqual(4.5);
    expect(contrast(declared('.flag', 'color'), declared('.flag', 'background'))).toBeGreaterThanOrEqual(4.5);
    expect(
      contrast(declared('.matrix td.failed', 'color'), declared('body', 'background')),
    ).toBeGreaterThanOrEqual(4.5);
  });
});
