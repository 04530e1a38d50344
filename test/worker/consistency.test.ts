import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { env } from "cloudflare:test";
import { sql as dsql } from "drizzle-orm";
import { DbRouter } from "../../workers/platform/db";
import { getConfig } from "../../workers/platform/config";
import { createLogger } from "../../workers/platform/logger";
import { call, clearCache, json, patchVariant, redis, replicaCaughtUp, rywCookie, sql } from "./helpers";

const SLUG = "the-great-gatsby";
const SKU = "BK00005-PB";

interface Detail {
  data: { variants: { sku: string; price: { amount: number } }[]; version: number };
}

const priceOf = (d: Detail, sku = SKU): number | undefined => d.data.variants.find((v) => v.sku === sku)?.price.amount;

async function basePrice(): Promise<number> {
  const [row] = await sql<{ base_price: number }>("primary", "select base_price from products where slug = $1", [SLUG]);
  return (row as { base_price: number }).base_price;
}

beforeAll(async () => {
  await replicaCaughtUp();
  await clearCache();
});

afterAll(async () => {
  await sql("replica", "select pg_wal_replay_resume()");
  const res = await patchVariant(SKU, { price_override: null });
  expect(res.status).toBe(200);
});

describe("replica routing", () => {
  it("serves a catalog read from the replica (pg_is_in_recovery)", async () => {
    const router = new DbRouter(getConfig(env), createLogger("warn", {}));
    try {
      const { value, source } = await router.read((db) => db.rows<{ r: boolean }>(dsql`select pg_is_in_recovery() as r`));
      expect(source).toBe("replica");
      expect(value[0]?.r).toBe(true);
      const primary = await router.read((db) => db.rows<{ r: boolean }>(dsql`select pg_is_in_recovery() as r`), { primary: true });
      expect(primary.source).toBe("primary");
      expect(primary.value[0]?.r).toBe(false);
    } finally {
      await router.end();
    }
    await clearCache(`product_detail:${SLUG}`);
    const res = await call(`/v1/products/${SLUG}`);
    expect(res.status).toBe(200);
    expect(res.headers.get("x-served-by")).toBe("replica");
  });

  it("reads its own write while the replica lags (replay paused)", async () => {
    await replicaCaughtUp();
    const warm = await json<Detail>(await call(`/v1/products/${SLUG}`));
    const oldPrice = priceOf(warm) as number;
    expect(oldPrice).toBe(await basePrice());
    const newPrice = oldPrice + 111;

    await sql("replica", "select pg_wal_replay_pause()");
    try {
      const write = await patchVariant(SKU, { price_override: newPrice });
      expect(write.status, await write.clone().text()).toBe(200);
      const cookie = rywCookie(write);

      // The replica really is behind: it still has the old price.
      const [onReplica] = await sql<{ price_override: number | null }>("replica", "select price_override from variants where sku = $1", [SKU]);
      expect(onReplica?.price_override).toBeNull();

      // The writing session reads the primary.
      const mine = await call(`/v1/products/${SLUG}`, { headers: { cookie } });
      expect(mine.headers.get("x-served-by")).toBe("primary");
      expect(mine.headers.get("cache-control")).toBe("private, no-cache");
      expect(priceOf(await json<Detail>(mine))).toBe(newPrice);

      // Even with Redis unreachable, the cookie alone routes the session to the primary.
      const noRedis = await call(`/v1/products/${SLUG}`, { headers: { cookie } }, { UPSTASH_REDIS_REST_URL: "http://127.0.0.1:1" });
      expect(priceOf(await json<Detail>(noRedis))).toBe(newPrice);

      // The writer's read refreshed the cache from the primary, so other sessions see the new price from cache.
      const cached = await call(`/v1/products/${SLUG}`);
      expect(cached.headers.get("x-served-by")).toBe("cache");
      expect(priceOf(await json<Detail>(cached))).toBe(newPrice);

      // With no cache entry, another session still gets the new price: Redis knows the committed version, the
      // replica's row is older, so the read goes to the primary.
      await clearCache(`product_detail:${SLUG}`);
      const theirs = await call(`/v1/products/${SLUG}`);
      expect(theirs.headers.get("x-served-by")).toBe("primary");
      expect(priceOf(await json<Detail>(theirs))).toBe(newPrice);

      // List pages too: the catalog version moved, the replica is behind it.
      const page = await json<{ data: { slug: string; price: { from: { amount: number } } }[] }>(
        await call(`/v1/products?author=f-scott-fitzgerald&sort=price_asc`),
      );
      const listed = page.data.find((p) => p.slug === SLUG);
      const [primaryRow] = await sql<{ min_price: number }>("primary", "select min_price from products where slug = $1", [SLUG]);
      const [replicaRow] = await sql<{ min_price: number }>("replica", "select min_price from products where slug = $1", [SLUG]);
      expect(primaryRow?.min_price).not.toBe(replicaRow?.min_price);
      expect(listed?.price.from.amount).toBe(primaryRow?.min_price);
    } finally {
      await sql("replica", "select pg_wal_replay_resume()");
    }
    await replicaCaughtUp();
    const after = await call(`/v1/products/${SLUG}`);
    expect(priceOf(await json<Detail>(after))).toBe(newPrice);
  });
});

describe("Redis cache", () => {
  it("stores entries under the seed 003 key names with 1-5 minute TTLs and serves them", async () => {
    await clearCache();
    const miss = await call(`/v1/products/${SLUG}`);
    expect(["replica", "primary"]).toContain(miss.headers.get("x-served-by"));
    const hit = await call(`/v1/products/${SLUG}`);
    expect(hit.headers.get("x-served-by")).toBe("cache");
    expect(await hit.json()).toEqual(await miss.json());

    const ttl = await redis<number>("TTL", `${env.CACHE_NAMESPACE}:product_detail:${SLUG}`);
    expect(ttl).toBeGreaterThan(60);
    expect(ttl).toBeLessThanOrEqual(300);
    await call("/v1/categories");
    expect(await redis<number>("EXISTS", `${env.CACHE_NAMESPACE}:category_tree`)).toBe(1);
    await call("/v1/categories/fantasy/products?sort=rating");
    const listKeys = await redis<string[]>("KEYS", `${env.CACHE_NAMESPACE}:product_list:fantasy:*`);
    expect(listKeys.length).toBeGreaterThan(0);
    const listTtl = await redis<number>("TTL", listKeys[0] as string);
    expect(listTtl).toBeGreaterThan(0);
    expect(listTtl).toBeLessThanOrEqual(300);
  });

  it("invalidates detail and list pages when a price changes through the service", async () => {
    await replicaCaughtUp();
    const listUrl = "/v1/products?author=f-scott-fitzgerald&sort=price_asc&limit=50";
    const detail1 = await json<Detail>(await call(`/v1/products/${SLUG}`));
    const list1 = await json<{ data: { slug: string; price: { from: { amount: number } } }[] }>(await call(listUrl));
    expect((await call(`/v1/products/${SLUG}`)).headers.get("x-served-by")).toBe("cache");
    expect((await call(listUrl)).headers.get("x-served-by")).toBe("cache");

    const cheaper = 123;
    const res = await patchVariant(SKU, { price_override: cheaper });
    expect(res.status).toBe(200);
    const body = await json<{ data: { product_version: number; catalog_version: number } }>(res);
    expect(body.data.product_version).toBeGreaterThan(detail1.data.version);

    const detail2 = await call(`/v1/products/${SLUG}`);
    expect(detail2.headers.get("x-served-by")).not.toBe("cache");
    expect(priceOf(await json<Detail>(detail2))).toBe(cheaper);
    const list2 = await json<{ data: { slug: string; price: { from: { amount: number } } }[] }>(await call(listUrl));
    expect(list2.data[0]?.slug).toBe(SLUG);
    expect(list2.data[0]?.price.from.amount).toBe(cheaper);
    expect(list1.data.find((p) => p.slug === SLUG)?.price.from.amount).not.toBe(cheaper);

    // The change is audited and has its outbox event for search, in the same transaction.
    const [audit] = await sql<{ after: { price_override: number } }>(
      "primary",
      "select after from audit_log where action = 'variant.update' and target_id = $1 order by id desc limit 1",
      [SKU],
    );
    expect(audit?.after.price_override).toBe(cheaper);
    const [outbox] = await sql<{ n: string }>(
      "primary",
      "select count(*) as n from outbox where task_name = 'catalog.product.changed' and payload->>'sku' = $1",
      [SKU],
    );
    expect(Number(outbox?.n)).toBeGreaterThan(0);
  });

  it("refuses to edit the audit log", async () => {
    await expect(sql("primary", "delete from audit_log")).rejects.toThrow(/append-only/);
    await expect(sql("primary", "update audit_log set action = 'x'")).rejects.toThrow(/append-only/);
  });
});
