// Run configs: the spec's JSON with comments allowed (its own example has one). Every error names
// the file, the line and column, and the field, so an operator can fix a config without guessing.
import { readFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import {
  findNodeAtLocation,
  getNodeValue,
  type Node,
  type ParseError,
  parseTree,
  printParseErrorCode,
} from 'jsonc-parser';
import type { z } from 'zod';
import { BENCH_ENV_KEYS, RunConfig } from '../lambdas/shared/contract';
import { ConfigError } from './config-error';
import { repeatRunConfig, resultsManifest } from './repeat-config';

export { ConfigError } from './config-error';

type Path = ReadonlyArray<string | number>;

/**
 * The default of `benchfleet local --config`: the project's own runs/local.json, wherever the CLI is
 * started from (a --config given on the command line is relative to the current folder).
 */
export const LOCAL_CONFIG = join(__dirname, '..', 'runs', 'local.json');

/**
 * Reads, parses and validates a run config; throws ConfigError naming file, line and field. A
 * results folder (or its manifest.json) gives that run's config again, with the ruby-bench commit
 * and image digest its tasks ran pinned (cli/repeat-config.ts); `say` gets what was pinned.
 */
export function loadRunConfig(
  file: string,
  say: (line: string) => void = (line) => process.stderr.write(`${line}\n`),
): RunConfig {
  const manifest = resultsManifest(file);
  if (manifest) return repeatRunConfig(manifest, say);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a folder' : String(err);
    // the default was not typed by the user: do not send them to check a --config they never gave
    const fix =
      file === LOCAL_CONFIG
        ? 'it is the default run config, which comes with Benchfleet: restore it (git restore runs/local.json), or name another with --config'
        : isAbsolute(file)
          ? 'check the --config path'
          : `check the --config path (read as ${resolve(file)}, from the current folder${process.env.npm_lifecycle_event === 'start' ? ": npm start runs from the project's folder" : ''})`;
    throw new ConfigError(file, [`${file}: cannot read the config (${why}); ${fix}`]);
  }
  return parseRunConfig(text, file);
}

/** Parses config text; `file` only names the source in messages. */
export function parseRunConfig(text: string, file: string): RunConfig {
  const errors: ParseError[] = [];
  const root = parseTree(text, errors, { allowTrailingComma: true, disallowComments: false });
  if (errors.length > 0 || root === undefined) {
    const problems = errors.length
      ? errors.map((e) => `${where(file, text, e.offset)}: invalid JSON: ${describeParseError(e)}`)
      : [`${file}: the file is empty; a run config is a JSON object (see runs/example.json)`];
    throw new ConfigError(file, problems);
  }
  if (root.type !== 'object') {
    throw new ConfigError(file, [
      `${where(file, text, root.offset)}: a run config is a JSON object, got ${root.type}`,
    ]);
  }
  const dups = duplicateKeys(root, []);
  if (dups.length > 0) {
    throw new ConfigError(
      file,
      dups.map((d) => `${where(file, text, d.offset)}: ${field(d.path)}: the field is given twice`),
    );
  }
  const value = getNodeValue(root);
  const result = RunConfig.safeParse(value);
  if (result.success) return result.data;
  throw new ConfigError(
    file,
    result.error.issues.map((issue) => describeIssue(file, text, root, issue)),
  );
}

/**
 * A config's run_id must be greater than the latest run's id (run ids only grow): one that is not
 * is refused, naming the file, the line and the field, and the run it collided with. `where` says
 * whose latest run that is (`in the data dir /x`).
 */
export function refuseStaleRunId(
  config: RunConfig,
  file: string,
  latest: number | undefined,
  where: string,
): void {
  if (config.run_id === undefined || latest === undefined || config.run_id > latest) return;
  throw new ConfigError(file, [
    `${fieldAt(file, ['run_id'])}: run_id: must be greater than every earlier run's id (latest is ${latest}) ${where}, and ${config.run_id} is not: set a run_id greater than ${latest}, or remove run_id to take the next free id`,
  ]);
}

/** `file:line:column` of a field, read again for a refusal after loading; the file alone if it is gone. */
function fieldAt(file: string, path: Path): string {
  try {
    const text = readFileSync(file, 'utf8');
    const root = parseTree(text, [], { allowTrailingComma: true, disallowComments: false });
    const node = root && findNodeAtLocation(root, [...path]);
    return node ? where(file, text, node.offset) : file;
  } catch {
    return file;
  }
}

function describeParseError(e: ParseError): string {
  const names: Record<string, string> = {
    InvalidSymbol: 'unexpected character',
    PropertyNameExpected: 'expected a "quoted" property name',
    ValueExpected: 'expected a value',
    ColonExpected: 'expected a colon',
    CommaExpected: 'expected a comma',
    CloseBraceExpected: 'expected }',
    CloseBracketExpected: 'expected ]',
    EndOfFileExpected: 'unexpected text after the end of the object',
    UnexpectedEndOfString: 'unterminated string',
  };
  const code = printParseErrorCode(e.error);
  return names[code] ?? code;
}

function describeIssue(file: string, text: string, root: Node, issue: z.core.$ZodIssue): string {
  const path = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
  if (issue.code === 'unrecognized_keys') {
    // Point at the unknown key itself, not at the object around it.
    return issue.keys
      .map((key) => {
        const prop = findNodeAtLocation(root, [...path, key])?.parent?.children?.[0];
        return `${where(file, text, prop?.offset ?? nodeAt(root, path).offset)}: ${field([...path, key])}: unknown field; allowed: ${allowedKeys(path)}`;
      })
      .join('\n  ');
  }
  const node = findNodeAtLocation(root, [...path]);
  if (node === undefined) {
    // The field is absent: point at the object that should hold it.
    const parent = nodeAt(root, path);
    return `${where(file, text, parent.offset)}: ${field(path)}: required field is missing`;
  }
  if (node.type === 'array' && /twice/.test(issue.message)) {
    const dup = firstDuplicate(node);
    if (dup) {
      return `${where(file, text, dup.offset)}: ${field([...path, dup.index])}: instance type ${JSON.stringify(dup.value)} is listed twice`;
    }
  }
  return `${where(file, text, node.offset)}: ${field(path)}: ${humanMessage(issue)}`;
}

function humanMessage(issue: z.core.$ZodIssue): string {
  if (issue.code === 'invalid_type') return `must be ${article(issue.expected)}`;
  return issue.message;
}

function article(expected: string): string {
  return /^[aeiou]/.test(expected) ? `an ${expected}` : `a ${expected}`;
}

function allowedKeys(path: Path): string {
  if (path.length === 0) return Object.keys(RunConfig.shape).join(', ');
  return BENCH_ENV_KEYS.join(', ');
}

function firstDuplicate(node: Node): { index: number; value: unknown; offset: number } | undefined {
  const seen = new Set<unknown>();
  for (const [index, child] of (node.children ?? []).entries()) {
    if (seen.has(child.value)) return { index, value: child.value, offset: child.offset };
    seen.add(child.value);
  }
  return undefined;
}

/** The deepest node that exists along the path (the root at worst). */
function nodeAt(root: Node, path: Path): Node {
  for (let n = path.length; n >= 0; n--) {
    const node = findNodeAtLocation(root, [...path.slice(0, n)]);
    if (node) return node;
  }
  return root;
}

function field(path: Path): string {
  if (path.length === 0) return '(top level)';
  return path.reduce<string>((s, p) => (typeof p === 'number' ? `${s}[${p}]` : s ? `${s}.${p}` : p), '');
}

function where(file: string, text: string, offset: number): string {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  const column = offset - before.lastIndexOf('\n');
  return `${file}:${line}:${column}`;
}

/** JSON parsers keep the last of two equal keys silently; in a hand-written config that is a mistake. */
function duplicateKeys(node: Node, path: Path): Array<{ path: Path; offset: number }> {
  const found: Array<{ path: Path; offset: number }> = [];
  if (node.type === 'object') {
    const seen = new Set<string>();
    for (const prop of node.children ?? []) {
      const [key, val] = prop.children ?? [];
      if (!key) continue;
      const name = String(key.value);
      if (seen.has(name)) found.push({ path: [...path, name], offset: key.offset });
      seen.add(name);
      if (val) found.push(...duplicateKeys(val, [...path, name]));
    }
  } else if (node.type === 'array') {
    for (const [i, child] of (node.children ?? []).entries())
      found.push(...duplicateKeys(child, [...path, i]));
  }
  return found;
}
