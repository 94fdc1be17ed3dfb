// The operator key, kept for this browser tab only: sessionStorage dies with the tab, and the key
// never goes to localStorage, a cookie or the URL.
const STORAGE_KEY = 'benchfleet.operatorKey';

function storage(): Storage | undefined {
  try {
    return window.sessionStorage;
  } catch {
    return undefined; // storage disabled: the key then lives only in memory
  }
}

let memoryKey: string | undefined;

export function getKey(): string | undefined {
  return storage()?.getItem(STORAGE_KEY) ?? memoryKey;
}

export function saveKey(key: string): void {
  const k = key.trim();
  memoryKey = k;
  storage()?.setItem(STORAGE_KEY, k);
}

export function forgetKey(): void {
  memoryKey = undefined;
  storage()?.removeItem(STORAGE_KEY);
}
