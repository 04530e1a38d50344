/**
 * A module-level memo with a size cap and an age cap. An isolate lives for hours and serves every request that
 * lands on it, so any per-isolate cache keyed by request data (a slug, an ISBN, a config value in tests) must
 * forget: the oldest entry goes when the map is full, and an entry older than `maxAgeMs` reads as missing.
 * Insertion order is age order (a `set` re-inserts), so eviction is O(1).
 */
export class BoundedMap<K, V> {
  private readonly entries = new Map<K, { value: V; at: number }>();

  constructor(
    private readonly maxEntries: number,
    private readonly maxAgeMs: number,
    private readonly now: () => number = Date.now,
  ) {
    if (!Number.isInteger(maxEntries) || maxEntries < 1) throw new Error("BoundedMap needs maxEntries >= 1");
    if (!(maxAgeMs > 0)) throw new Error("BoundedMap needs maxAgeMs > 0");
  }

  /** The value for `key`, or undefined when absent or older than the age cap (then it is dropped). */
  get(key: K): V | undefined {
    const e = this.entries.get(key);
    if (e === undefined) return undefined;
    if (this.now() - e.at >= this.maxAgeMs) {
      this.entries.delete(key);
      return undefined;
    }
    return e.value;
  }

  /** Stores `value` as the newest entry, evicting the oldest entries beyond the size cap. */
  set(key: K, value: V): this {
    this.entries.delete(key);
    this.entries.set(key, { value, at: this.now() });
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (oldest.done === true) break;
      this.entries.delete(oldest.value);
    }
    return this;
  }

  /** The cached value, or the one `make` returns (stored). */
  getOrSet(key: K, make: () => V): V {
    const hit = this.get(key);
    if (hit !== undefined) return hit;
    const value = make();
    this.set(key, value);
    return value;
  }

  delete(key: K): boolean {
    return this.entries.delete(key);
  }

  clear(): void {
    this.entries.clear();
  }

  /** Entries held, expired ones included until they are read or evicted. */
  get size(): number {
    return this.entries.size;
  }
}
