/**
 * The operator's full reindex (`npm run search:reindex`) retires cached search pages: the index version it commits
 * in Postgres is raised in the Worker's Redis too (through the real Upstash REST proxy), and never lowered.
 */
import { describe, expect, it } from "vitest";
import pg from "pg";
import { loadStackConfig } from "../../dev/config";
import { reindexAll } from "../../dev/search-reindex";
import { redisCommand } from "../../dev/redis-rest";
import { testDatabaseUrl } from "./search-support";

const cfg = loadStackConfig();
const url = `http://127.0.0.1:${cfg.upstashProxyPort}`;

const redis = (...command: (string | number)[]): Promise<unknown> => redisCommand(command);

async function postgresVersion(): Promise<number> {
  const client = new pg.Client({ connectionString: testDatabaseUrl });
  await client.connect();
  try {
    const r = await client.query<{ version: string }>("select version from cache_versions where scope = 'search'");
    return Number(r.rows[0]?.version ?? 0);
  } finally {
    await client.end();
  }
}

describe("full search reindex", () => {
  it("raises the Redis index version to the one it committed, and never lowers a higher one", async () => {
    const namespace = `reindex-${crypto.randomUUID().slice(0, 8)}`;
    const key = `${namespace}:ver:search`;
    await redis("SET", key, "1");
    const lines: string[] = [];
    const result = await reindexAll(testDatabaseUrl, { restart: true, log: (m) => lines.push(m), env: {}, redis: { url, token: cfg.upstashToken, namespace } });
    expect(result.products).toBeGreaterThan(0);
    const version = await postgresVersion();
    expect(version).toBeGreaterThan(1);
    expect(Number(await redis("GET", key))).toBe(version);
    expect(lines.some((l) => l.includes("raised in Redis"))).toBe(true);

    await redis("SET", key, String(version + 1_000_000));
    await reindexAll(testDatabaseUrl, { restart: true, log: () => undefined, env: {}, redis: { url, token: cfg.upstashToken, namespace } });
    expect(Number(await redis("GET", key))).toBe(version + 1_000_000);
    await redis("DEL", key);
  });
});
