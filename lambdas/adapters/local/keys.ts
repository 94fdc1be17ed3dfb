// The local mode's API keys: given ones win, else the ones saved in the data dir's keys.json (so
// runners keep working across a restart of the local server), else new ones.
import { randomBytes } from 'node:crypto';
import { chmodSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { ApiKeys } from '../../core/ports';
import { makeDir } from '../../shared/make-dir';
import { writeFileAtomic } from './atomic-write';

const newKey = (): string => randomBytes(24).toString('base64url');

export const KEYS_FILE = 'keys.json';

/** A usable key: a non-blank string. '' (an empty BENCHFLEET_API_KEY, or an old keys.json) is none. */
const usable = (key: unknown): key is string => typeof key === 'string' && key.trim() !== '';

/** The saved keys, or undefined when there is no keys.json; a keys.json that is not an object throws. */
function readSavedKeys(file: string): Partial<Record<keyof ApiKeys, unknown>> | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new Error(
      `cannot read ${file} (${(err as Error).message}): it holds this data dir's keys; check its owner and permissions`,
    );
  }
  let saved: unknown;
  try {
    saved = JSON.parse(text);
  } catch (err) {
    throw damaged(file, text.trim() === '' ? 'it is empty' : (err as Error).message);
  }
  if (typeof saved !== 'object' || saved === null || Array.isArray(saved))
    throw damaged(file, 'it is not a JSON object');
  return saved as Partial<Record<keyof ApiKeys, unknown>>;
}

const damaged = (file: string, why: string): Error =>
  new Error(
    `${file} cannot be used (${why}): it holds this data dir's operator and runner keys. Either ` +
      'delete it and start again to have new keys made (they are printed at the start; the runners ' +
      '`benchfleet local` starts get them, but runners you started yourself on this data dir must be ' +
      'restarted with the new runner key), or start with both --api-key and --runner-key set to the ' +
      'keys to keep, which rewrites it',
  );

/** The keys given (undefined or blank: none) and the data dir whose keys.json keeps them. */
export interface KeyOptions {
  dataDir?: string;
  operatorKey?: string;
  runnerKey?: string;
}

/** Where each of two equal keys comes from: given (flag or variable), or saved in keys.json. */
export interface KeyClash {
  operator: 'given' | 'saved';
  runner: 'given' | 'saved';
}

/**
 * The runner key (the one runners and VMs get) must never be the operator key, or it could start
 * and stop runs. Two keys clash when the keys used would be equal, or when a given key is the one
 * saved for the other role (the old runner key, which runners hold, made the operator key).
 */
function clash(
  given: { operator?: string; runner?: string },
  saved: Partial<Record<keyof ApiKeys, unknown>> | undefined,
): KeyClash | undefined {
  const op = usable(given.operator) ? given.operator : undefined;
  const run = usable(given.runner) ? given.runner : undefined;
  const savedOp = usable(saved?.operator) ? saved?.operator : undefined;
  const savedRun = usable(saved?.runner) ? saved?.runner : undefined;
  const used = { operator: op ?? savedOp, runner: run ?? savedRun };
  if (used.operator !== undefined && used.operator === used.runner)
    return { operator: op ? 'given' : 'saved', runner: run ? 'given' : 'saved' };
  if (op !== undefined && op === savedRun) return { operator: 'given', runner: 'saved' };
  if (run !== undefined && run === savedOp) return { operator: 'saved', runner: 'given' };
  return undefined;
}

/**
 * Whether these keys clash (see clash) with each other or with the data dir's keys.json; reads
 * only. A keys.json that cannot be read counts as none here: resolveKeys says what is wrong with it.
 */
export function keyClash(opts: KeyOptions): KeyClash | undefined {
  let saved: Partial<Record<keyof ApiKeys, unknown>> | undefined;
  try {
    saved = opts.dataDir ? readSavedKeys(join(opts.dataDir, KEYS_FILE)) : undefined;
  } catch {
    saved = undefined;
  }
  return clash({ operator: opts.operatorKey, runner: opts.runnerKey }, saved);
}

const sameKeys = (same: KeyClash, file: string | undefined): Error => {
  const from = (which: keyof ApiKeys): string =>
    same[which] === 'given' ? 'given' : `saved in ${file ?? KEYS_FILE}`;
  return new Error(
    `the operator key (${from('operator')}) and the runner key (${from('runner')}) are the same: the two keys must differ, or the runners, which get the runner key, could start and stop runs`,
  );
};

/**
 * Keys persist in the data dir so runners keep working across a restart of the local server. A
 * key given (not blank) wins; else the saved one (not blank); else a new one. keys.json is written
 * only when its keys change, and is readable by its owner only. Keys that clash are refused.
 */
export function resolveKeys(opts: KeyOptions): ApiKeys {
  const given = { operator: opts.operatorKey, runner: opts.runnerKey };
  const file = opts.dataDir ? join(opts.dataDir, KEYS_FILE) : undefined;
  let saved: Partial<Record<keyof ApiKeys, unknown>> | undefined;
  try {
    saved = file ? readSavedKeys(file) : undefined;
  } catch (err) {
    // with both keys given the saved ones are not needed: a damaged file is simply replaced
    if (!usable(given.operator) || !usable(given.runner)) throw err;
  }
  const same = clash(given, saved);
  if (same) throw sameKeys(same, file);
  const pick = (which: keyof ApiKeys): string => {
    const key = given[which];
    if (usable(key)) return key;
    const kept = saved?.[which];
    return usable(kept) ? kept : newKey();
  };
  const keys = { operator: pick('operator'), runner: pick('runner') };
  if (!opts.dataDir || !file) return keys;
  makeDir(opts.dataDir);
  if (saved?.operator !== keys.operator || saved?.runner !== keys.runner)
    writeFileAtomic(file, `${JSON.stringify(keys)}\n`, 0o600);
  else if ((statSync(file).mode & 0o077) !== 0) chmodSync(file, 0o600); // made by an older version
  return keys;
}
