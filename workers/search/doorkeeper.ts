/**
 * Cache admission for search ("cache on second hit"): most distinct search queries are asked once, so looking
 * each one up in Redis and writing its page back costs two round trips for nothing. An isolate remembers the
 * keys it has seen recently; a key's first sight goes straight to the engine, a second sight within the window
 * uses (and fills) the Redis cache. A popular query therefore reaches Redis after one engine read per isolate.
 */

/** How long a sighting counts, and how many keys an isolate remembers (oldest forgotten first). */
const WINDOW_MS = 10 * 60_000;
const MAX_KEYS = 20_000;

const seen = new Map<string, number>();
let knownVersion: number | null = null;

/**
 * Records a sighting of `key` and tells whether it had been seen within the window (then it is worth caching).
 * Insertion order doubles as age order, so eviction is O(1).
 */
export function seenBefore(key: string, now = Date.now()): boolean {
  const at = seen.get(key);
  if (at !== undefined && now - at < WINDOW_MS) return true;
  seen.delete(key);
  seen.set(key, now);
  if (seen.size > MAX_KEYS) {
    const oldest = seen.keys().next();
    if (oldest.done !== true) seen.delete(oldest.value);
  }
  return false;
}

/**
 * The newest search index version this isolate has read from Redis: first sights skip Redis, and this stands in
 * for the version they would have read when checking that a replica's answer is not behind.
 */
export function lastKnownIndexVersion(): number | null {
  return knownVersion;
}

/** Notes an index version read from Redis (versions only rise). */
export function noteIndexVersion(version: number | null): void {
  if (version !== null && (knownVersion === null || version > knownVersion)) knownVersion = version;
}

/** Forgets every sighting (tests). */
export function resetDoorkeeper(): void {
  seen.clear();
  knownVersion = null;
}
