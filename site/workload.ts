// Did every task run the same workload? Types are compared fairly only when they ran the same Ruby
// (its version and revision: the platform part of `ruby -v` differs between x86 and ARM by design),
// the same ruby-bench and the same image. The runners record each in meta.json; a run whose tasks
// disagree (a moving image tag such as `head`, a branch that moved between clones, a stale local
// image) ranks the Rubies as much as the machines, so the page says so.
import type { TaskResult } from './model';

interface Facet {
  what: string;
  /** The value to compare, from one task's meta.json; null when it does not say. */
  of: (t: TaskResult) => string | null | undefined;
  /**
   * The exact value (a commit, an image digest), compared instead when every task gives one: a
   * branch or a tag names different code at different times. Not every task may give it (a
   * locally built image has no digest), and then the names are compared.
   */
  exact?: (t: TaskResult) => string | null | undefined;
}

/** `ruby 3.4.7 (2025-10-08 revision 7a5688e2a2) +PRISM [x86_64-linux]` without ` [x86_64-linux]`. */
export const rubyWithoutPlatform = (description: string): string =>
  description.replace(/\s*\[[^\]]*\]\s*$/, '').trim();

const FACETS: Facet[] = [
  {
    what: 'Rubies',
    of: (t) => (t.meta?.ruby_description ? rubyWithoutPlatform(t.meta.ruby_description) : null),
  },
  {
    what: 'ruby-bench versions',
    of: (t) => t.meta?.ruby_bench_ref,
    exact: (t) => t.meta?.ruby_bench_commit,
  },
  {
    what: 'images',
    of: (t) => t.meta?.image,
    exact: (t) => t.meta?.image_digest,
  },
];

/** One warning per fact on which the tasks with results disagree, naming which tasks had which. */
export function workloadWarnings(tasks: TaskResult[]): string[] {
  const measured = tasks.filter((t) => t.outcome === 'completed' || t.outcome === 'benchmarks_failed');
  const warnings: string[] = [];
  for (const facet of FACETS) {
    const { exact } = facet;
    const named = measured.filter((t) => facet.of(t));
    const of = exact && named.length > 0 && named.every((t) => exact(t)) ? exact : facet.of;
    const byValue = new Map<string, string[]>();
    for (const t of measured) {
      const value = of(t);
      if (value) byValue.set(value, [...(byValue.get(value) ?? []), t.folder]);
    }
    if (byValue.size < 2) continue;
    // an exact value is named with the names it went by: `sha256:e1e1e1e1e1e1 (ruby:3.4)`
    const label = (value: string, folders: string[]): string => {
      if (of === facet.of) return `"${value}"`;
      const names = new Set(measured.filter((t) => folders.includes(t.folder)).map((t) => facet.of(t)));
      return `"${value.slice(0, value.startsWith('sha256:') ? 19 : 12)}" (${[...names].join(', ')})`;
    };
    const groups = [...byValue]
      .sort((a, b) => b[1].length - a[1].length)
      .map(([value, folders]) => `${label(value, folders)} on ${listed(folders)}`);
    warnings.push(
      `the tasks ran different ${facet.what}: ${groups.join('; ')}. Their figures compare the ${facet.what} as ` +
        'much as the machines. Pin them in the config (`image` by @sha256 digest, `ruby_bench_ref` as a commit) and run again',
    );
  }
  return warnings;
}

function listed(folders: string[]): string {
  const sorted = [...folders].sort();
  return sorted.length <= 4
    ? sorted.join(', ')
    : `${sorted.slice(0, 3).join(', ')} and ${sorted.length - 3} more`;
}
