/**
 * Highlights are HTML (issue 10: a title holding markup came back inside <mark> unescaped, stored XSS once titles
 * are editable). Both engines: Postgres on the test database, Typesense through the real client against
 * dev/typesense-fake.ts (which, like Typesense, returns stored text unescaped inside the highlight tags).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type pg from "pg";
import { startTypesenseFake } from "../../dev/typesense-fake";
import type { SearchDocument, SearchEngine, SearchRequest } from "../../workers/search/engine";
import { TypesenseSearchEngine } from "../../workers/search/typesense-engine";
import { renderHighlight } from "../../workers/search/highlight";
import { openPostgresEngine } from "./search-support";

const ID = 990_555;
const doc: SearchDocument = {
  sku: `ZZ${ID}-PB`,
  product_id: ID,
  name: `<script>alert(1)</script> Snorkelquib & <img src=x onerror=alert(1)>`,
  slug: "snorkelquib-probe",
  series: `<b onmouseover="x">Snorkelquib</b> Cycle`,
  authors: ["Dana <i>Snorkelquib</i>", "Lee & <svg onload=alert(2)>"],
  author_slugs: ["dana-snorkelquib", "lee-svg"],
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
  price: 1500,
  currency: "USD",
  in_stock: true,
  attributes: {},
  rating: 4,
  ratings_count: 3,
  sales_count: 0,
  popularity: 3,
  featured: false,
  published_year: 2021,
  isbn13: null,
  isbn10: null,
  image_url: null,
  product_version: 1,
};
const request = (q: string): SearchRequest => ({ q, filters: { format: [], language: [] }, facets: [], sort: "relevance", page: 1, perPage: 10 });

let pool: pg.Pool;
let fake: Awaited<ReturnType<typeof startTypesenseFake>>;
const engines: Record<string, SearchEngine> = {};

beforeAll(async () => {
  const pgSide = await openPostgresEngine();
  pool = pgSide.pool;
  engines.postgres = pgSide.engine;
  fake = await startTypesenseFake({ apiKey: "highlight-key" });
  engines.typesense = new TypesenseSearchEngine({ host: "127.0.0.1", port: fake.port, protocol: "http", apiKey: "highlight-key", collection: "books_highlight" });
  for (const e of Object.values(engines)) {
    await e.ensureReady();
    await e.replaceProducts([ID], [doc]);
  }
});

afterAll(async () => {
  await engines.postgres?.replaceProducts([ID], []);
  await pool.query("delete from search_suggestions where label like '%Snorkelquib%' or slug in ('dana-snorkelquib', 'lee-svg')");
  await pool.query("delete from search_term_variants where word = 'snorkelquib'");
  await pool.query("delete from search_terms where word = 'snorkelquib'");
  await pool.end();
  await fake.close();
});

/** Nothing but text and <mark> pairs: no other tag, no raw quote that could end an attribute. */
function onlyMarks(html: string): void {
  expect(html.replace(/<\/?mark>/g, "")).not.toMatch(/[<>"]/);
}

describe.each(["postgres", "typesense"])("highlights escape stored text: %s", (name) => {
  const engine = (): SearchEngine => engines[name] as SearchEngine;

  it("title, series and authors come back escaped, with <mark> around the match", async () => {
    const hit = (await engine().search(request("snorkelquib"))).hits.find((h) => h.product_id === ID);
    expect(hit).toBeDefined();
    expect(hit?.highlights.name).toBe("&lt;script&gt;alert(1)&lt;/script&gt; <mark>Snorkelquib</mark> &amp; &lt;img src=x onerror=alert(1)&gt;");
    expect(hit?.highlights.series).toBe("&lt;b onmouseover=&quot;x&quot;&gt;<mark>Snorkelquib</mark>&lt;/b&gt; Cycle");
    expect(hit?.highlights.authors).toEqual(["Dana &lt;i&gt;<mark>Snorkelquib</mark>&lt;/i&gt;", "Lee &amp; &lt;svg onload=alert(2)&gt;"]);
    for (const h of [hit?.highlights.name, hit?.highlights.series, ...(hit?.highlights.authors ?? [])]) onlyMarks(h ?? "");
  });

  it("suggestions come back escaped", async () => {
    const out = await engine().suggest("snorkelq", 10);
    expect(out.length).toBeGreaterThan(0);
    for (const s of out) {
      onlyMarks(s.highlight);
      expect(s.highlight).toContain("<mark>");
    }
    expect(out.find((s) => s.kind === "title")?.highlight).toContain("&lt;script&gt;");
  });
});

describe("renderHighlight", () => {
  it("escapes everything and keeps only balanced marks, whatever markers the engine returns", () => {
    expect(renderHighlight("a\uE000<b>\uE001 & \uE001\uE000c")).toBe("a<mark>&lt;b&gt;</mark> &amp; <mark>c</mark>");
    expect(renderHighlight("\uE000\uE000x")).toBe("<mark>x</mark>");
    expect(renderHighlight(`"'`)).toBe("&quot;&#39;");
  });
});
