import { beforeAll, describe, expect, it } from "vitest";
import { env, createExecutionContext, createMessageBatch, getQueueResult, waitOnExecutionContext } from "cloudflare:test";
import worker from "../../workers/index";
import { ADMIN_TOKEN, DEAD_PORT, call as rawCall, json, nextIp, patchVariant, replicaCaughtUp, sql } from "./helpers";
import type { ErrorBody } from "./helpers";

interface Hit {
  product_id: number;
  slug: string;
  name: string;
  price: { amount: number; currency: string };
  in_stock: boolean;
  rating: { average: number; count: number };
  authors: string[];
  author_slugs: string[];
  variants: { sku: string; format: string | null; price: number; in_stock: boolean }[];
  highlights: { name?: string; authors?: string[] };
}
interface SearchBody {
  data: Hit[];
  facets: Record<string, { value: string; count: number }[]>;
  page: { page: number; limit: number; found: number; total_pages: number; has_more: boolean };
  query: { q: string | null; isbn13: string | null; sort: string };
  engine: string;
}
interface QueueResult {
  explicitAcks: string[];
  retryMessages: { msgId: string }[];
}

/** Each request from its own client address: the per-IP search limit (test/security/search.test.ts) stays out of the way. */
function call(path: string, init: RequestInit = {}, overrides: Partial<Record<keyof Env, string>> = {}): Promise<Response> {
  return rawCall(path, { ...init, headers: { "cf-connecting-ip": nextIp(), ...((init.headers ?? {}) as Record<string, string>) } }, overrides);
}

async function search(qs: string, init: RequestInit = {}, overrides: Partial<Record<keyof Env, string>> = {}): Promise<SearchBody> {
  const res = await call(`/v1/search?${qs}`, init, overrides);
  expect(res.status, await res.clone().text()).toBe(200);
  return json<SearchBody>(res);
}

async function errorCode(path: string): Promise<[number, string]> {
  const res = await call(path);
  return [res.status, (await json<ErrorBody>(res)).error.code];
}

beforeAll(async () => {
  await replicaCaughtUp();
});

describe("GET /v1/search", () => {
  it("finds a book by title, grouped by product, with highlights, page info and facet counts", async () => {
    const body = await search("q=the%20hobbit&facets=format,category,author,in_stock,language");
    expect(body.engine).toBe("postgres");
    const top = body.data[0] as Hit;
    expect(top.slug).toBe("the-hobbit");
    expect(top.highlights.name).toContain("<mark>");
    expect(top.variants.length).toBeGreaterThan(1);
    expect(new Set(body.data.map((h) => h.product_id)).size).toBe(body.data.length);
    expect(body.page).toMatchObject({ page: 1, limit: 20 });
    expect(body.page.found).toBeGreaterThan(0);
    const formats = body.facets.format ?? [];
    expect(formats.map((f) => f.value)).toContain("hardcover");
    expect(body.facets.category?.length).toBeGreaterThan(0);
    expect(body.facets.author?.map((a) => a.value)).toContain("j-r-r-tolkien");
  });

  it("tolerates typos and half-typed words", async () => {
    expect((await search("q=tolkein%20hobit")).data[0]?.slug).toBe("the-hobbit");
    expect((await search("q=perfect%20chem")).data.map((h) => h.slug)).toContain("perfect-chemistry");
  });

  it("goes straight to the book for an ISBN-13 or ISBN-10, with or without hyphens", async () => {
    for (const isbn of ["978-0-618-26030-0", "9780618260300", "0-618-26030-7"]) {
      const body = await search(`q=${isbn}`);
      expect(body.query.isbn13).toBe("9780618260300");
      expect(body.data.map((h) => h.slug)).toEqual(["the-hobbit"]);
    }
  });

  it("filters by format, price range, stock, rating, category and author", async () => {
    const ebooks = await search("q=harry%20potter&format=ebook");
    expect(ebooks.data.length).toBeGreaterThan(0);
    for (const h of ebooks.data) for (const v of h.variants) expect(v.format).toBe("ebook");
    const priced = await search("category=fantasy&price_min=1000&price_max=1200&limit=50");
    for (const h of priced.data) for (const v of h.variants) expect(v.price >= 1000 && v.price <= 1200).toBe(true);
    const rated = await search("q=king&rating_min=4.2&in_stock=true");
    for (const h of rated.data) {
      expect(h.rating.average).toBeGreaterThanOrEqual(4.2);
      expect(h.variants.every((v) => v.in_stock)).toBe(true);
    }
    const byAuthor = await search("author=j-k-rowling&limit=50");
    expect(byAuthor.data.length).toBeGreaterThan(3);
    for (const h of byAuthor.data) expect(h.author_slugs).toContain("j-k-rowling");
  });

  it("sorts by price and rating and pages without repeating a product", async () => {
    const asc = await search("q=the&sort=price_asc&limit=30");
    for (let i = 1; i < asc.data.length; i++) expect((asc.data[i - 1] as Hit).price.amount).toBeLessThanOrEqual((asc.data[i] as Hit).price.amount);
    const rating = await search("category=classics&sort=rating&limit=30");
    for (let i = 1; i < rating.data.length; i++) expect((rating.data[i - 1] as Hit).rating.average).toBeGreaterThanOrEqual((rating.data[i] as Hit).rating.average);
    const p1 = await search("q=the&sort=popularity&limit=10&page=1");
    const p2 = await search("q=the&sort=popularity&limit=10&page=2");
    const ids = [...p1.data, ...p2.data].map((h) => h.product_id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(p1.page.has_more).toBe(true);
  });

  it("caches a query on its second sight and serves the third from Redis", async () => {
    // A key no earlier run can have left in Redis (the price bound changes nothing in the results).
    const qs = `q=watership&limit=7&price_max=${10_000_000 + Math.floor(Math.random() * 1_000_000)}`;
    const served: (string | null)[] = [];
    let body = "";
    for (let i = 0; i < 3; i++) {
      const res = await call(`/v1/search?${qs}`);
      expect(res.status).toBe(200);
      served.push(res.headers.get("x-served-by"));
      const text = await res.text();
      if (i > 0) expect(text).toBe(body);
      body = text;
    }
    // First sight: straight to the engine, nothing written; second: a Redis miss that fills it; third: a hit.
    expect(served[0]).not.toBe("cache");
    expect(served[1]).not.toBe("cache");
    expect(served[2]).toBe("cache");
  });
});

describe("bad input", () => {
  it.each([
    ["/v1/search?q=", 400, "INVALID_QUERY"],
    ["/v1/search?q=%20%20%20", 400, "INVALID_QUERY"],
    [`/v1/search?q=${"a".repeat(500)}`, 400, "QUERY_TOO_LONG"],
    ["/v1/search?q=x&sort=cheapest", 400, "INVALID_SORT"],
    ["/v1/search?q=x&price_min=-5", 400, "INVALID_PRICE_RANGE"],
    ["/v1/search?q=x&price_min=900&price_max=100", 400, "INVALID_PRICE_RANGE"],
    ["/v1/search?q=x&limit=100000", 400, "PAGE_SIZE_TOO_LARGE"],
    ["/v1/search?q=x&limit=50&page=21", 400, "PAGE_OUT_OF_RANGE"],
    ["/v1/search?q=x&facets=price;drop", 400, "INVALID_FACET"],
    ["/v1/search?q=x&rating_min=9", 400, "INVALID_RATING"],
    ["/v1/search?q=x&category=fantasy'%20or%201=1", 400, "VALIDATION_FAILED"],
    ["/v1/search?q=x&format=paperback%60%20||%20price:>0", 400, "VALIDATION_FAILED"],
    ["/v1/search?q=x&debug=1", 400, "UNKNOWN_PARAMETER"],
    ["/v1/search/suggest", 400, "INVALID_QUERY"],
    ["/v1/search/suggest?q=ha&limit=11", 400, "PAGE_SIZE_TOO_LARGE"],
  ])("%s → %i %s", async (path, status, code) => {
    expect(await errorCode(path)).toEqual([status, code]);
  });

  it.each([
    "'; drop table search_documents; --",
    "harry & | ! potter:* <-> (",
    "name:=x && price:<1 || in_stock:true",
    "`category_slugs`:=[fantasy]",
    "\\\\ %_ \u0000 ''",
    "-tolkien *",
  ])("treats %j as words, never as syntax", async (q) => {
    const res = await call(`/v1/search?q=${encodeURIComponent(q)}&facets=format`);
    expect([200, 400]).toContain(res.status);
    if (res.status === 400) expect((await json<ErrorBody>(res)).error.code).toBe("INVALID_QUERY");
    const [{ n }] = (await sql<{ n: string }>("primary", "select count(*) as n from search_documents")) as [{ n: string }];
    expect(Number(n)).toBeGreaterThan(0);
  });

  it("answers 503 with Retry-After when the search backend is down, while the catalog keeps working", async () => {
    const down = { TYPESENSE_HOST: "127.0.0.1", TYPESENSE_PORT: String(DEAD_PORT), TYPESENSE_PROTOCOL: "http", TYPESENSE_API_KEY: "k" } as Partial<Record<keyof Env, string>>;
    const res = await call("/v1/search?q=outage-probe", {}, down);
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("5");
    expect((await json<ErrorBody>(res)).error.code).toBe("SEARCH_UNAVAILABLE");
    expect((await call("/v1/products?limit=3", {}, down)).status).toBe(200);
  });

  it("a synonym change while the engine is down is a 503 that says it is saved (it was a 500), and the list is a 503", async () => {
    const down = { TYPESENSE_HOST: "127.0.0.1", TYPESENSE_PORT: String(DEAD_PORT), TYPESENSE_PROTOCOL: "http", TYPESENSE_API_KEY: "k" } as Partial<Record<keyof Env, string>>;
    const staff = { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" };
    const put = await call("/v1/admin/search/synonyms/outage-set", { method: "PUT", headers: staff, body: JSON.stringify({ synonyms: ["outage", "downtime"] }) }, down);
    expect(put.status).toBe(503);
    const body = await json<ErrorBody>(put);
    expect(body.error.code).toBe("SEARCH_UNAVAILABLE");
    expect(body.error.message).toMatch(/saved/);
    const [row] = await sql<{ n: string }>("primary", "select count(*) as n from search_synonyms where id = 'outage-set'");
    expect(Number(row?.n)).toBe(1);
    expect((await call("/v1/admin/search/synonyms", { headers: staff }, down)).status).toBe(503);
    // Put back as it was (the engine in this suite is Postgres, so this reaches it).
    expect((await call("/v1/admin/search/synonyms/outage-set", { method: "DELETE", headers: staff })).status).toBe(204);
  });
});

describe("GET /v1/search/suggest", () => {
  it("completes titles, authors and series from a prefix (at most 10)", async () => {
    const res = await call("/v1/search/suggest?q=harry%20pot");
    expect(res.status).toBe(200);
    const { data } = await json<{ data: { kind: string; text: string; slug: string | null; highlight: string }[] }>(res);
    expect(data.length).toBeGreaterThan(0);
    expect(data.length).toBeLessThanOrEqual(10);
    expect(data.some((s) => s.kind === "title" && s.text.startsWith("Harry Potter"))).toBe(true);
    expect(data.some((s) => s.kind === "series" && s.text === "Harry Potter")).toBe(true);
    const authors = await json<{ data: { kind: string; slug: string | null }[] }>(await call("/v1/search/suggest?q=rowl"));
    expect(authors.data.some((s) => s.kind === "author" && s.slug === "j-k-rowling")).toBe(true);
  });
});

describe("indexing through the queue", () => {
  it("a price change reaches search: outbox row → search-index queue → consumer → engine", async () => {
    const sku = "BK00007-HC";
    const before = await search("q=the%20hobbit&limit=1");
    const old = (before.data[0] as Hit).variants.find((v) => v.sku === sku)?.price ?? 0;
    const price = old === 2345 ? 2346 : 2345;
    const res = await patchVariant(sku, { price_override: price });
    expect(res.status).toBe(200);
    const [row] = await sql<{ queue: string; task_name: string }>("primary", "select queue, task_name from outbox where payload ->> 'sku' = $1 order by created_at desc limit 1", [sku]);
    expect(row).toEqual({ queue: "search-index", task_name: "catalog.product.changed" });
    let seen = old;
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline && seen !== price) {
      const body = await search("q=the%20hobbit&limit=1");
      seen = (body.data[0] as Hit).variants.find((v) => v.sku === sku)?.price ?? 0;
      if (seen !== price) await new Promise((r) => setTimeout(r, 100));
    }
    expect(seen).toBe(price);
  });

  it("applies a job once however often it is delivered, and retries what it cannot parse", async () => {
    const jobId = crypto.randomUUID();
    const body = { task_name: "catalog.product.changed", job_id: jobId, payload: { product_id: 7 }, created_at: new Date().toISOString(), trace_id: null };
    for (const round of [1, 2]) {
      const batch = createMessageBatch("nexusbooks-search-index", [
        { id: `a${round}`, timestamp: new Date(), attempts: 1, body },
        { id: `b${round}`, timestamp: new Date(), attempts: 2, body },
        { id: `bad${round}`, timestamp: new Date(), attempts: 1, body: { task_name: "catalog.product.changed", job_id: "nope", payload: {}, created_at: "x", trace_id: null } },
      ]);
      const ctx = createExecutionContext();
      await worker.queue(batch, env, ctx);
      await waitOnExecutionContext(ctx);
      const result = (await getQueueResult(batch, ctx)) as unknown as QueueResult;
      expect(result.explicitAcks.sort()).toEqual([`a${round}`, `b${round}`]);
      expect(result.retryMessages.map((m) => m.msgId)).toEqual([`bad${round}`]);
    }
    const [count] = await sql<{ n: string }>("primary", "select count(*) as n from search_index_jobs where job_id = $1", [jobId]);
    expect(Number(count?.n)).toBe(1);
  });

  it("a stock movement writes a search-index outbox row in its transaction", async () => {
    const movement = crypto.randomUUID();
    const [inv] = await sql<{ on_hand: number }>("primary", "select on_hand from inventory where sku = 'BK00013-PB'");
    const batch = createMessageBatch("nexusbooks-inventory", [
      {
        id: "m",
        timestamp: new Date(),
        attempts: 1,
        body: { task_name: "inventory.movement", job_id: movement, payload: { sku: "BK00013-PB", delta: 1, reason: "restock", ref: "search-test", on_hand_after: (inv?.on_hand ?? 0) + 1 }, created_at: new Date().toISOString(), trace_id: null },
      },
    ]);
    const ctx = createExecutionContext();
    await worker.queue(batch, env, ctx);
    await waitOnExecutionContext(ctx);
    const rows = await sql<{ n: string }>("primary", "select count(*) as n from outbox where queue = 'search-index' and payload ->> 'reason' = 'stock.changed' and payload ->> 'sku' = 'BK00013-PB' and created_at > now() - interval '1 minute'");
    expect(Number(rows[0]?.n)).toBeGreaterThanOrEqual(1);
  });
});

describe("synonyms (staff)", () => {
  const admin = { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" };

  it("refuses anonymous callers", async () => {
    expect((await call("/v1/admin/search/synonyms")).status).toBe(401);
  });

  it("a synonym set changes results at once and its deletion undoes it", async () => {
    const put = await call("/v1/admin/search/synonyms/boy-wizard", { method: "PUT", headers: admin, body: JSON.stringify({ synonyms: ["Quibbleflux", "harry potter"] }) });
    expect(put.status, await put.clone().text()).toBe(200);
    expect((await json<{ data: { synonyms: string[] } }>(put)).data.synonyms).toEqual(["quibbleflux", "harry potter"]);
    const list = await json<{ data: { id: string }[] }>(await call("/v1/admin/search/synonyms", { headers: admin }));
    expect(list.data.map((s) => s.id)).toContain("boy-wizard");
    await replicaCaughtUp();
    const hits = await search("q=quibbleflux");
    expect(hits.data.slice(0, 5).some((h) => h.slug.startsWith("harry-potter"))).toBe(true);
    expect((await call("/v1/admin/search/synonyms/boy-wizard", { method: "DELETE", headers: admin })).status).toBe(204);
    await replicaCaughtUp();
    // A word no book has: without the set nothing may lead to Harry Potter.
    const after = await search("q=quibbleflux");
    expect(after.data.slice(0, 5).some((h) => h.slug.startsWith("harry-potter"))).toBe(false);
    expect((await call("/v1/admin/search/synonyms/boy-wizard", { method: "DELETE", headers: admin })).status).toBe(404);
  });

  it("rejects malformed synonym sets", async () => {
    const res = await call("/v1/admin/search/synonyms/x", { method: "PUT", headers: admin, body: JSON.stringify({ synonyms: ["only-one"] }) });
    expect(res.status).toBe(400);
  });
});

describe("bounded queries", () => {
  it("searches at most 10 words of at most 32 characters, and says so in query.q", async () => {
    const words = Array.from({ length: 14 }, (_, i) => `w${i}`);
    const body = await search(`q=${encodeURIComponent(`${"z".repeat(40)} ${words.join(" ")}`)}`);
    expect(body.query.q).toBe(`${"z".repeat(32)} ${words.slice(0, 9).join(" ")}`);
  });

  it("answers 503 SEARCH_TIMEOUT with Retry-After when a statement exceeds SEARCH_STATEMENT_TIMEOUT_MS, never a 500", async () => {
    const tight = { SEARCH_STATEMENT_TIMEOUT_MS: "1" } as Partial<Record<keyof Env, string>>;
    for (const path of [`/v1/search?q=the%20${crypto.randomUUID().slice(0, 4)}&facets=category,author,format`, `/v1/search/suggest?q=th${crypto.randomUUID().slice(0, 4)}`]) {
      const res = await call(path, {}, tight);
      expect(res.status, await res.clone().text()).toBe(503);
      expect(res.headers.get("retry-after")).toBe("2");
      const body = await json<ErrorBody>(res);
      expect(body.error.code).toBe("SEARCH_TIMEOUT");
      expect(body.error.request_id).toBeTruthy();
    }
    // The timeout is local to the search's own transaction: the next search on the same pooled connection is unbounded.
    expect((await call("/v1/search?q=the&facets=category")).status).toBe(200);
  });
});
