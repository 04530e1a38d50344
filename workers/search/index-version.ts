/** The search index version in Redis: what cached result pages are compared against. */
import type { Cache } from "../platform/cache";
import { keys } from "./cache-keys";

/** Mirrors the index version to Redis after indexing, so cached result pages older than it stop being served. */
export async function publishIndexVersion(cache: Cache, version: number): Promise<void> {
  if (version > 0) await cache.raiseVersions({ [keys.searchVersion]: version });
}
