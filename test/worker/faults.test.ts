import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { call, clearCache, json, replicaCaughtUp, resetHealth, sql, stack } from "./helpers";
import type { ErrorBody } from "./helpers";

const REDIS_DOWN = { UPSTASH_REDIS_REST_URL: "http://127.0.0.1:1" };
const REPLICA_DOWN = { DATABASE_REPLICA_URLS: `postgres://postgres@127.0.0.1:1/${stack.database}` };
const PRIMARY_DOWN = { DATABASE_URL: `postgres://postgres@127.0.0.1:1/${stack.database}` };

interface Ready {
  status: string;
  checks: { name: string; status: string; latency_ms: number }[];
}
const check = (r: Ready, name: string) => r.checks.find((c) => c.name === name)?.status;

beforeAll(async () => {
  await replicaCaughtUp();
});
afterEach(() => resetHealth());

describe("readiness", () => {
  it("reports every dependency up with timings when all run", async () => {
    const res = await call("/readyz");
    expect(res.status).toBe(200);
    const body = (await json<{ data: Ready }>(res)).data;
    expect(body.status).toBe("ok");
    expect(body.checks.map((c) => c.name).sort()).toEqual(["postgres_primary", "postgres_replica_0", "redis"]);
    for (const c of body.checks) {
      expect(c.status).toBe("up");
      expect(c.latency_ms).toBeGreaterThanOrEqual(0);
    }
  });
});

describe("Redis down", () => {
  it("still serves the catalog from Postgres and /readyz says Redis is down", async () => {
    const res = await call("/v1/products/the-hunger-games", {}, REDIS_DOWN);
    expect(res.status).toBe(200);
    expect(["replica", "primary"]).toContain(res.headers.get("x-served-by"));
    const page = await call("/v1/categories/fantasy/products", {}, REDIS_DOWN);
    expect(page.status).toBe(200);
    const ready = await call("/readyz", {}, REDIS_DOWN);
    expect(ready.status).toBe(200);
    const body = (await json<{ data: Ready }>(ready)).data;
    expect(body.status).toBe("degraded");
    expect(check(body, "redis")).toBe("down");
    expect(check(body, "postgres_primary")).toBe("up");
  });
});

describe("replica down", () => {
  it("falls back to the primary for reads and /readyz is degraded", async () => {
    await clearCache("product_detail:twilight");
    const res = await call("/v1/products/twilight", {}, REPLICA_DOWN);
    expect(res.status).toBe(200);
    expect(res.headers.get("x-served-by")).toBe("primary");
    const body = (await json<{ data: Ready }>(await call("/readyz", {}, REPLICA_DOWN))).data;
    expect(body.status).toBe("degraded");
    expect(check(body, "postgres_replica_0")).toBe("down");
  });
});

describe("primary down", () => {
  it("keeps serving reads from the replica, refuses writes with 503, and /readyz fails", async () => {
    await clearCache("product_detail:the-hunger-games");
    const res = await call("/v1/products/the-hunger-games", {}, PRIMARY_DOWN);
    expect(res.status).toBe(200);
    expect(res.headers.get("x-served-by")).toBe("replica");
    const page = await call("/v1/products?sort=rating&limit=5", {}, { ...PRIMARY_DOWN, ...REDIS_DOWN });
    expect(page.status).toBe(200);
    expect(page.headers.get("x-served-by")).toBe("replica");

    const ready = await call("/readyz", {}, PRIMARY_DOWN);
    expect(ready.status).toBe(503);
    const body = (await json<{ data: Ready }>(ready)).data;
    expect(body.status).toBe("fail");
    expect(check(body, "postgres_primary")).toBe("down");

    const [before] = await sql<{ price_override: number | null }>("primary", "select price_override from variants where sku = 'BK00002-PB'");
    const dead = await call(
      "/v1/admin/variants/BK00002-PB",
      {
        method: "PATCH",
        headers: { "content-type": "application/json", authorization: `Bearer ${"local-admin-token-change-me-0123456789abcdef"}` },
        body: JSON.stringify({ price_override: 999 }),
      },
      PRIMARY_DOWN,
    );
    expect(dead.status).toBe(503);
    expect(dead.headers.get("retry-after")).toBeTruthy();
    expect((await json<ErrorBody>(dead)).error.code).toBe("DATABASE_UNAVAILABLE");
    const [after] = await sql<{ price_override: number | null }>("primary", "select price_override from variants where sku = 'BK00002-PB'");
    expect(after?.price_override).toBe(before?.price_override ?? null);
  });

  it("serves warm cache entries when both databases are unreachable", async () => {
    await call("/v1/products/to-kill-a-mockingbird");
    const res = await call("/v1/products/to-kill-a-mockingbird", {}, { ...PRIMARY_DOWN, ...REPLICA_DOWN });
    expect(res.status).toBe(200);
    expect(res.headers.get("x-served-by")).toBe("cache");
    const cold = await call("/v1/products/no-such-book-anywhere", {}, { ...PRIMARY_DOWN, ...REPLICA_DOWN });
    expect(cold.status).toBe(503);
    expect((await json<ErrorBody>(cold)).error.code).toBe("DATABASE_UNAVAILABLE");
  });
});
