// Comparing a given key with the real one: constant-time, also in length. Both sides are hashed to
// the same size first, so neither a matching prefix nor the key's length shows in the timing. Used
// by the API's auth and by the CLI (which must not load middy and the logger to get it).
import { createHash, timingSafeEqual } from 'node:crypto';

export function sameSecret(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b) && given.length === expected.length;
}
