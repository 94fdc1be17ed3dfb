// The operator key, kept for this browser tab only: sessionStorage dies with the tab, and the key
// never goes to localStorage, a cookie or the URL. A refresh's GET /run refuses a wrong key (401),
// but takes the runner key too, so a saved key is "unchecked" until a use shows that the API takes
// it as the operator key (a stop, or the archive's link).
const STORAGE_KEY = 'benchfleet.operatorKey';

function storage(): Storage | undefined {
  try {
    return window.sessionStorage;
  } catch {
    return undefined; // storage disabled: the key then lives only in memory
  }
}

let memoryKey: string | undefined;

/**
 * What is known about the key: none saved; saved and not used yet; accepted by the API (a stop, or
 * the archive's link); or refused, in which case it was forgotten and the page asks for another.
 * Kept in memory: after a reload a saved key is unchecked again until its next use.
 */
export type KeyStatus = 'none' | 'unchecked' | 'accepted' | 'refused';
let verdict: 'unchecked' | 'accepted' = 'unchecked';
let refused = false;

export function getKey(): string | undefined {
  return storage()?.getItem(STORAGE_KEY) ?? memoryKey;
}

export function keyStatus(): KeyStatus {
  if (getKey() !== undefined) return verdict;
  return refused ? 'refused' : 'none';
}

/** Saves a key: unchecked, unless the caller has just seen the API accept it. */
export function saveKey(key: string, checked: 'unchecked' | 'accepted' = 'unchecked'): void {
  const k = key.trim();
  memoryKey = k;
  storage()?.setItem(STORAGE_KEY, k);
  verdict = checked;
  refused = false;
}

/** The user forgot the key: nothing is said about it any more. */
export function forgetKey(): void {
  memoryKey = undefined;
  storage()?.removeItem(STORAGE_KEY);
  verdict = 'unchecked';
  refused = false;
}

/**
 * The API accepted `key`. True when this is news (the saved key was unchecked); a key saved in the
 * meantime is left alone, so an answer to an older request never speaks for a newer key.
 */
export function acceptKey(key: string): boolean {
  if (getKey() !== key || verdict === 'accepted') return false;
  verdict = 'accepted';
  return true;
}

/** The API refused `key`: when it is still the saved one, it is forgotten and marked refused. */
export function refuseKey(key: string): boolean {
  if (getKey() !== key) return false;
  forgetKey();
  refused = true;
  return true;
}
