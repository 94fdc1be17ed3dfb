// `--config results/<run-id>` (or its manifest.json): run that run's config again, exactly. The
// manifest keeps the config the run started with; its tasks' meta.json files say which ruby-bench
// commit and which image digest actually ran, which a branch or a tag in the config does not pin.
// The repeat pins them, and drops the old run_id (a new run takes a new id).
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { RunConfig, RunnerMeta } from '../lambdas/shared/contract';
import { ConfigError } from './config-error';

/** Where a `--config` value names a results folder (or the manifest.json in one); undefined otherwise. */
export function resultsManifest(path: string): string | undefined {
  try {
    if (statSync(path).isDirectory()) {
      const manifest = join(path, 'manifest.json');
      return existsSync(manifest) ? manifest : undefined;
    }
  } catch {
    return undefined;
  }
  return basename(path) === 'manifest.json' ? path : undefined;
}

/** The config of the run whose manifest this is, ready to run again; `say` gets what was changed. */
export function repeatRunConfig(manifestFile: string, say: (line: string) => void): RunConfig {
  let doc: { run_id?: unknown; config?: unknown; tasks?: unknown };
  try {
    doc = JSON.parse(readFileSync(manifestFile, 'utf8'));
  } catch (err) {
    throw new ConfigError(manifestFile, [
      `${manifestFile}: cannot read the run's manifest (${(err as Error).message})`,
    ]);
  }
  const { run_id: _old, ...given } = (doc.config ?? {}) as Record<string, unknown>;
  const parsed = RunConfig.safeParse(given);
  if (!parsed.success) {
    throw new ConfigError(manifestFile, [
      `${manifestFile}: its config is not a run config any more (${parsed.error.issues.map((i) => `${i.path.join('.') || '(top level)'}: ${i.message}`).join('; ')}); copy it into a file of its own and fix that`,
    ]);
  }
  const config = parsed.data;
  const from = typeof doc.run_id === 'number' ? `run ${doc.run_id}'s` : 'the run';
  say(`repeating ${from} config from ${manifestFile} (with a run id of its own)`);
  const metas = tasksMeta(dirname(manifestFile), doc.tasks);
  const commit = only(metas.map((m) => m.ruby_bench_commit));
  if (commit.value && commit.value !== config.ruby_bench_ref) {
    say(
      `  ruby_bench_ref: ${commit.value}, the commit its tasks ran (the config said ${config.ruby_bench_ref ?? "nothing: the runner's pinned commit"})`,
    );
    config.ruby_bench_ref = commit.value;
  } else if (commit.several) {
    say('  ruby_bench_ref: kept as the config said it, as its tasks ran different commits');
  } else if (!commit.value && !FULL_COMMIT.test(config.ruby_bench_ref ?? '')) {
    say(
      `  ruby_bench_ref: NOT pinned: ${NO_META} the commit it ran; ${config.ruby_bench_ref ? `the config's ${config.ruby_bench_ref} is fetched again, and may be another commit by now` : "the runner's pinned commit is used"}`,
    );
  }
  const digest = only(metas.map((m) => m.image_digest));
  const image = only(metas.map((m) => m.image));
  if (digest.value && image.value && !image.value.includes('@')) {
    const pinned = `${image.value}@${digest.value}`;
    say(
      `  image: ${pinned}, the image its tasks ran (the config said ${config.image ?? `nothing: ruby:${config.ruby_version}`})`,
    );
    config.image = pinned;
  } else if (digest.several || image.several) {
    say('  image: kept as the config said it, as its tasks ran different images');
  } else if (!digest.value && !config.image?.includes('@')) {
    say(
      `  image: NOT pinned: ${NO_META} the image digest it ran; ${config.image ?? `ruby:${config.ruby_version}`} is pulled again, and may be another build by now`,
    );
  }
  return config;
}

/** A 40-hex commit pins itself; a branch, a tag or a short hash may name another commit later. */
const FULL_COMMIT = /^[0-9a-f]{40}$/;
/** Why nothing is pinned: runners before `ruby_bench_commit` and `image_digest` wrote neither. */
const NO_META = "no completed task's meta.json (none, or from an older runner) names";

/** The meta.json of each task that has one in the results folder (completed tasks, and failed ones' error/). */
function tasksMeta(dir: string, tasks: unknown): Array<Partial<RunnerMeta>> {
  if (!Array.isArray(tasks)) return [];
  const metas: Array<Partial<RunnerMeta>> = [];
  for (const t of tasks as Array<{ instance_type?: unknown; run?: unknown; status?: unknown }>) {
    if (t.status !== 'completed' || typeof t.instance_type !== 'string' || typeof t.run !== 'number')
      continue;
    try {
      const meta = RunnerMeta.partial().safeParse(
        JSON.parse(readFileSync(join(dir, `${t.instance_type}-${t.run}`, 'meta.json'), 'utf8')),
      );
      if (meta.success) metas.push(meta.data);
    } catch {
      // a task folder without a readable meta.json says nothing of what ran
    }
  }
  return metas;
}

/** The one value the tasks agree on (those that give one), or that they gave several. */
function only(values: Array<string | null | undefined>): { value?: string; several: boolean } {
  const seen = new Set(values.filter((v): v is string => typeof v === 'string' && v !== ''));
  return seen.size === 1 ? { value: [...seen][0], several: false } : { several: seen.size > 1 };
}
