// The local mode's API keys: given ones win, else the ones saved in the data dir's keys.json (so
// runners keep working across a restart of the local server), else new ones.
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { ApiKeys } from '../../core/ports';
import { writeFileAtomic } from './atomic-write';

const newKey = (): string => randomBytes(24).toString('base64url');

const KEYS_FILE = 'keys.json';

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

/**
 * Keys persist in the data dir so runners keep working across a restart of the local server. A
 * key given (not blank) wins; else the saved one (not blank); else a new one. keys.json is written
 * only when its keys change, and is readable by its owner only.
 */
export function resolveKeys(opts: { dataDir?: string; operatorKey?: string; runnerKey?: string }): ApiKeys {
  const given = { operator: opts.operatorKey, runner: opts.runnerKey };
  if (!opts.dataDir)
    return {
      operator: usable(given.operator) ? given.operator : newKey(),
      runner: usable(given.runner) ? given.runner : newKey(),
    };
  const file = join(opts.dataDir, KEYS_FILE);
  let saved: Partial<Record<keyof ApiKeys, unknown>> | undefined;
  try {
    saved = readSavedKeys(file);
  } catch (err) {
    // with both keys given the saved ones are not needed: a damaged file is simply replaced
    if (!usable(given.operator) || !usable(given.runner)) throw err;
  }
  const pick = (which: keyof ApiKeys): string => {
    const key = given[which];
    if (usable(key)) return key;
    const kept = saved?.[which];
    return usable(kept) ? kept : newKey();
  };
  const keys = { operator: pick('operator'), runner: pick('runner') };
  mkdirSync(opts.dataDir, { recursive: true });
  if (saved?.operator !== keys.operator || saved?.runner !== keys.runner)
    writeFileAtomic(file, `${JSON.stringify(keys)}\n`, 0o600);
  else if ((statSync(file).mode & 0o077) !== 0) chmodSync(file, 0o600); // made by an older version
  return keys;
}
