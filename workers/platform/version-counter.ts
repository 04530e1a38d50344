/**
 * Version counters in Redis (`<namespace>:ver:<scope>`): cached entries carry the version they were built from and
 * stop being served once the counter passes it. Counters only rise, so writers that finish out of order cannot
 * move one backwards. Kept free of Worker types so Node tools (the search reindex) raise counters the same way.
 */

/** Sets KEYS[1] to ARGV[1] when that is higher; returns the counter's value afterwards. */
export const RAISE_SCRIPT = `local cur = tonumber(redis.call('GET', KEYS[1]) or '0')
local v = tonumber(ARGV[1])
if v > cur then redis.call('SET', KEYS[1], ARGV[1]) return v end
return cur`;

/** The one call raiseVersion needs, which the Worker's and Node's Upstash clients both have. */
export interface ScriptRunner {
  eval(script: string, keys: string[], args: string[]): Promise<unknown>;
}

/** Raises `<namespace>:<versionKey>` to at least `version`; returns the counter afterwards. */
export async function raiseVersion(redis: ScriptRunner, namespace: string, versionKey: string, version: number): Promise<number> {
  return Number(await redis.eval(RAISE_SCRIPT, [`${namespace}:${versionKey}`], [String(version)]));
}
