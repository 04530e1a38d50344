/**
 * One Redis command against the local stack's Upstash REST proxy, for benches and tests that look at or clear the
 * Worker's cache from outside it.
 */
import { loadStackConfig } from "./config";

/** Sends one command (`["GET", key]`, …) and returns Upstash's `result`. */
export async function redisCommand(command: (string | number)[]): Promise<unknown> {
  const cfg = loadStackConfig();
  const res = await fetch(`http://127.0.0.1:${cfg.upstashProxyPort}/`, {
    method: "POST",
    headers: { authorization: `Bearer ${cfg.upstashToken}` },
    body: JSON.stringify(command),
  });
  if (!res.ok) throw new Error(`Upstash proxy answered ${res.status} to ${String(command[0])}`);
  return ((await res.json()) as { result: unknown }).result;
}

/** Deletes every key matching `pattern` (KEYS + DEL in one script: fine for a local cache, not for production). */
export async function deleteKeys(pattern: string): Promise<number> {
  const script = "local n = 0 for _, k in ipairs(redis.call('KEYS', ARGV[1])) do redis.call('DEL', k) n = n + 1 end return n";
  return Number(await redisCommand(["EVAL", script, 0, pattern]));
}
