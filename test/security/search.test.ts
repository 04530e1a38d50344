/**
 * OWASP API Top 10 (2023) probes of search (issue 10): API4 resource consumption (per-client rate limits that a
 * typing shopper never meets) and API8 security misconfiguration (highlights are HTML: stored text must come back
 * escaped, with only our own <mark> tags raw). The Typesense engine's escaping is in test/node/search-highlight.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { env } from "cloudflare:test";
import { call, json, nextIp, replicaCaughtUp, sql } from "../worker/helpers";
import type { ErrorBody } from "../worker/helpers";
import { DbRouter } from "../../workers/platform/db";
import { getConfig } from "../../workers/platform/config";
import { createLogger } from "../../workers/platform/logger";
import { PostgresSearchEngine } from "../../workers/search/postgres-engine";
import { routerGateway } from "../../workers/search/router-gateway";
import type { SearchDocument } from "../../workers/search/engine";

const get = (path: string, ip: string, headers: Record<string, string> = {}): Promise<Response> => call(path, { headers: { "cf-connecting-ip": ip, ...headers } });

/** The binding counts in fixed 10-second windows: start a burst early in one so it cannot straddle two. */
async function freshWindow(): Promise<void> {
  const into = Date.now() % 10_000;
  if (into > 2_000) await new Promise((r) => setTimeout(r, 10_000 - into + 50));
}

describe("API4 Unrestricted Resource Consumption", () => {
  it("a shopper typing a title (suggest and search per keystroke) is never limited", async () => {
    await freshWindow();
    const ip = nextIp();
    const title = "the lord of the rings";
    for (let i = 1; i <= title.length; i++) {
      const prefix = encodeURIComponent(title.slice(0, i).trim() || "t");
      const [s, q] = await Promise.all([get(`/v1/search/suggest?q=${prefix}`, ip), get(`/v1/search?q=${prefix}&limit=5`, ip)]);
      expect([s.status, q.status]).toEqual([200, 200]);
    }
  });

  it("a flood of searches from one IP gets 429 RATE_LIMITED with Retry-After past 60 in 10 s; other clients are unaffected", async () => {
    await freshWindow();
    const ip = nextIp();
    const statuses: number[] = [];
    let refused: Response | null = null;
    for (let batch = 0; batch < 7; batch++) {
      const res = await Promise.all(Array.from({ length: 10 }, (_, i) => get(`/v1/search?q=hobbit&limit=${(batch * 10 + i) % 50 + 1}`, ip)));
      for (const r of res) {
        statuses.push(r.status);
        if (r.status === 429) refused = r;
      }
    }
    expect(statuses.filter((s) => s === 200)).toHaveLength(60);
    expect(statuses.filter((s) => s === 429)).toHaveLength(10);
    expect(refused).not.toBeNull();
    const body = await json<ErrorBody>(refused as unknown as Response);
    expect(body.error.code).toBe("RATE_LIMITED");
    expect(body.error.request_id).toBeTruthy();
    expect(Number((refused as unknown as Response).headers.get("retry-after"))).toBeGreaterThan(0);
    expect((refused as unknown as Response).headers.get("cache-control") ?? "").not.toContain("public");
    // Bad requests count too (the limit runs before validation), and another address is served as usual.
    expect((await get("/v1/search?q=x&debug=1", ip)).status).toBe(429);
    expect((await get("/v1/search?q=hobbit", nextIp())).status).toBe(200);
  });

  it("the per-IP budget keys on the trusted client IP (CLIENT_IP_HEADER): rotating an untrusted header escapes nothing", async () => {
    await freshWindow();
    const behindProxy = { CLIENT_IP_HEADER: "x-real-ip" } as Partial<Record<keyof Env, string>>;
    const ip = nextIp();
    const statuses: number[] = [];
    for (let batch = 0; batch < 7; batch++) {
      const res = await Promise.all(
        Array.from({ length: 10 }, (_, i) => call(`/v1/search?q=hobbit&limit=${(batch * 10 + i) % 50 + 1}`, { headers: { "x-real-ip": ip, "cf-connecting-ip": nextIp() } }, behindProxy)),
      );
      statuses.push(...res.map((r) => r.status));
    }
    expect(statuses.filter((s) => s === 200)).toHaveLength(60);
    expect(statuses.filter((s) => s === 429)).toHaveLength(10);
  });

  it("suggest has its own, larger budget: 120 per 10 s per IP", async () => {
    await freshWindow();
    const ip = nextIp();
    const statuses: number[] = [];
    for (let batch = 0; batch < 13; batch++) {
      const res = await Promise.all(Array.from({ length: 10 }, () => get("/v1/search/suggest?q=harry", ip)));
      statuses.push(...res.map((r) => r.status));
    }
    expect(statuses.filter((s) => s === 200)).toHaveLength(120);
    expect(statuses.filter((s) => s === 429)).toHaveLength(10);
    // The search budget of the same address is separate.
    expect((await get("/v1/search?q=harry", ip)).status).toBe(200);
  });
});

const XSS_ID = 990_777;
const XSS_SKU = "XSS990777-PB";
const xssDoc: SearchDocument = {
  sku: XSS_SKU,
  product_id: XSS_ID,
  name: `<script>alert(1)</script> Zorblax & <img src=x onerror=alert(1)> "q" 'a' \uE000<mark>`,
  slug: "zorblax-xss-probe",
  series: "<b>Zorblax</b> Saga",
  authors: ["Quill <i>Zorblax</i>", "Ann <svg onload=alert(2)>"],
  author_slugs: ["quill-zorblax", "ann-svg"],
  publisher: null,
  category_slugs: ["books"],
  category_names: ["Books"],
  category_path: "books",
  subjects: [],
  subject_names: [],
  subject_weights: [],
  series_keys: [],
  series_names: [],
  is_collection: false,
  format: "paperback",
  language: "en",
  price: 999,
  currency: "USD",
  in_stock: true,
  attributes: {},
  rating: 4,
  ratings_count: 1,
  sales_count: 0,
  popularity: 1,
  featured: false,
  published_year: 2020,
  isbn13: null,
  isbn10: null,
  image_url: null,
  product_version: 1,
};

async function withEngine<T>(fn: (engine: PostgresSearchEngine) => Promise<T>): Promise<T> {
  const db = new DbRouter(getConfig(env), createLogger("warn", {}));
  try {
    return await fn(new PostgresSearchEngine(routerGateway(db), true));
  } finally {
    await db.end();
  }
}

async function removeProbe(): Promise<void> {
  await withEngine((e) => e.replaceProducts([XSS_ID], []));
  await sql("primary", "delete from search_suggestions where label like '%Zorblax%' or slug in ('quill-zorblax', 'ann-svg')");
}

describe("API8 Security Misconfiguration: highlights are escaped HTML", () => {
  beforeAll(async () => {
    await removeProbe();
    await withEngine((e) => e.replaceProducts([XSS_ID], [xssDoc]));
    await replicaCaughtUp();
  });
  afterAll(removeProbe);

  it("search highlights escape the stored title, series and authors; only <mark> is raw", async () => {
    const res = await get("/v1/search?q=zorblax", nextIp());
    expect(res.status).toBe(200);
    const { data } = await json<{ data: { slug: string; name: string; highlights: { name?: string; series?: string; authors?: string[] } }[] }>(res);
    const hit = data.find((h) => h.slug === "zorblax-xss-probe");
    expect(hit).toBeDefined();
    expect(hit?.highlights.name).toBe(`&lt;script&gt;alert(1)&lt;/script&gt; <mark>Zorblax</mark> &amp; &lt;img src=x onerror=alert(1)&gt; &quot;q&quot; &#39;a&#39; &lt;mark&gt;`);
    expect(hit?.highlights.series).toBe("&lt;b&gt;<mark>Zorblax</mark>&lt;/b&gt; Saga");
    expect(hit?.highlights.authors).toEqual(["Quill &lt;i&gt;<mark>Zorblax</mark>&lt;/i&gt;", "Ann &lt;svg onload=alert(2)&gt;"]);
    // The plain fields stay the stored text (JSON, for clients to escape as any other string).
    expect(hit?.name).toBe(xssDoc.name);
  });

  it("suggestions escape their highlight too", async () => {
    const res = await get("/v1/search/suggest?q=zorbl", nextIp());
    expect(res.status).toBe(200);
    const { data } = await json<{ data: { kind: string; text: string; highlight: string }[] }>(res);
    expect(data.length).toBeGreaterThan(0);
    for (const s of data) {
      expect(s.highlight.replace(/<\/?mark>/g, "")).not.toMatch(/[<>"]/);
      expect(s.highlight).toContain("<mark>");
    }
    expect(data.find((s) => s.kind === "title")?.highlight).toContain("&lt;script&gt;");
  });
});
