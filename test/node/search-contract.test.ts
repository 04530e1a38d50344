/**
 * The SearchEngine contract, run against both engines: Postgres (the test database) and Typesense (through the
 * real `typesense` client against dev/typesense-fake.ts, which checks each request against the API reference).
 * Documents use product ids and words that exist nowhere in the seeded catalog, and are removed afterwards.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type pg from "pg";
import { startTypesenseFake } from "../../dev/typesense-fake";
import type { SearchDocument, SearchEngine, SearchRequest } from "../../workers/search/engine";
import { TypesenseSearchEngine } from "../../workers/search/typesense-engine";
import { openPostgresEngine } from "./search-support";

const BASE = 990_000;

function doc(n: number, fmt: "paperback" | "hardcover", over: Partial<SearchDocument> = {}): SearchDocument {
  return {
    sku: `ZZ${BASE + n}-${fmt === "paperback" ? "PB" : "HC"}`,
    product_id: BASE + n,
    name: `Quasarbeetle Chronicles ${["Alpha", "Bravo", "Charlie"][n] ?? "Delta"}`,
    slug: `quasarbeetle-${n}`,
    series: "Quasarbeetle Saga",
    authors: ["Ottoline Vexcombe"],
    author_slugs: ["ottoline-vexcombe"],
    publisher: null,
    category_slugs: ["books", "fiction", "fantasy"],
    category_names: ["Books", "Fiction", "Fantasy"],
    category_path: "books/fiction/fantasy",
    subjects: [],
    subject_names: [],
    subject_weights: [],
    series_keys: [],
    series_names: [],
    is_collection: false,
    format: fmt,
    language: "en",
    price: 1000 + n * 100 + (fmt === "hardcover" ? 1000 : 0),
    currency: "USD",
    in_stock: !(n === 2 && fmt === "paperback"),
    attributes: { format: fmt },
    rating: 3.5 + n * 0.5,
    ratings_count: 10 + n,
    sales_count: 0,
    popularity: 10 + n,
    featured: n === 1,
    published_year: 2000 + n,
    isbn13: null,
    isbn10: null,
    image_url: null,
    product_version: 1,
    ...over,
  };
}

const ids = [BASE, BASE + 1, BASE + 2];
const docs = [0, 1, 2].flatMap((n) => [doc(n, "paperback"), doc(n, "hardcover")]);
const request = (q: string | null, over: Partial<SearchRequest> = {}): SearchRequest => ({
  q,
  filters: { format: [], language: [], category: "fantasy" },
  facets: [],
  sort: q === null ? "popularity" : "relevance",
  page: 1,
  perPage: 10,
  ...over,
});

let pool: pg.Pool;
let fake: Awaited<ReturnType<typeof startTypesenseFake>>;
let fake30: Awaited<ReturnType<typeof startTypesenseFake>>;
const engines: Record<string, SearchEngine> = {};

beforeAll(async () => {
  const pgSide = await openPostgresEngine();
  pool = pgSide.pool;
  engines.postgres = pgSide.engine;
  fake = await startTypesenseFake({ apiKey: "contract-key" });
  engines.typesense = new TypesenseSearchEngine({ host: "127.0.0.1", port: fake.port, protocol: "http", apiKey: "contract-key", collection: "books_contract" });
  // Typesense 30 moved synonyms to synonym sets: the engine reads the version and uses whichever API the server has.
  fake30 = await startTypesenseFake({ apiKey: "contract-key", version: "30.0" });
  engines["typesense v30"] = new TypesenseSearchEngine({ host: "127.0.0.1", port: fake30.port, protocol: "http", apiKey: "contract-key", collection: "books_contract" });
  for (const e of Object.values(engines)) {
    await e.ensureReady();
    await e.replaceProducts(ids, docs);
  }
});

afterAll(async () => {
  await engines.postgres?.replaceProducts(ids, []);
  await engines.postgres?.deleteSynonym("contract-moonrabbit");
  await pool.query("delete from search_terms where word in ('quasarbeetle','vexcombe','ottoline')");
  await pool.query("delete from search_term_variants where word in ('quasarbeetle','vexcombe','ottoline')");
  await pool.end();
  await fake.close();
  await fake30.close();
});

describe.each(["postgres", "typesense", "typesense v30"])("SearchEngine contract: %s", (name) => {
  const engine = (): SearchEngine => engines[name] as SearchEngine;

  it("finds documents by title words, one hit per product with its variants", async () => {
    const res = await engine().search(request("quasarbeetle chronicles"));
    expect(res.found).toBe(3);
    expect(res.hits.map((h) => h.product_id).sort()).toEqual(ids);
    for (const h of res.hits) expect(h.variants.length).toBe(2);
    expect(res.hits[0]?.highlights.name).toContain("<mark>");
  });

  it("tolerates a typo and a half-typed last word", async () => {
    expect((await engine().search(request("quasarbeatle"))).found).toBe(3);
    // Two neighbouring letters swapped (one edit for the symmetric-delete index, two for Levenshtein).
    expect((await engine().search(request("quasrabeetle chronicles"))).found).toBe(3);
    expect((await engine().search(request("ottoline vexcmobe"))).found).toBe(3);
    expect((await engine().search(request("quasarbee"))).found).toBe(3);
    expect((await engine().search(request("vexcombe charl"))).hits.map((h) => h.slug)).toEqual(["quasarbeetle-2"]);
  });

  it("filters, counts facets and sorts", async () => {
    const hard = await engine().search(request("quasarbeetle", { filters: { format: ["hardcover"], language: [], category: "fantasy", priceMax: 2150 }, facets: ["format", "in_stock"] }));
    expect(hard.hits.map((h) => h.slug).sort()).toEqual(["quasarbeetle-0", "quasarbeetle-1"]);
    for (const h of hard.hits) expect(h.variants.every((v) => v.format === "hardcover")).toBe(true);
    expect(hard.facets.format).toEqual([{ value: "hardcover", count: 2 }]);
    const stocked = await engine().search(request("quasarbeetle", { filters: { format: ["paperback"], language: [], category: "fantasy", inStock: true } }));
    expect(stocked.hits.map((h) => h.slug).sort()).toEqual(["quasarbeetle-0", "quasarbeetle-1"]);
    const cheap = await engine().search(request("quasarbeetle", { sort: "price_desc" }));
    expect(cheap.hits.map((h) => h.slug)).toEqual(["quasarbeetle-2", "quasarbeetle-1", "quasarbeetle-0"]);
    const rated = await engine().search(request("quasarbeetle", { filters: { format: [], language: [], category: "fantasy", ratingMin: 4 } }));
    expect(rated.hits.map((h) => h.slug).sort()).toEqual(["quasarbeetle-1", "quasarbeetle-2"]);
  });

  it("applies synonyms and forgets them when deleted", async () => {
    await engine().upsertSynonym({ id: "contract-moonrabbit", root: null, synonyms: ["moonrabbit", "quasarbeetle"] });
    const withSet = await engine().search(request("moonrabbit"));
    expect(withSet.hits.filter((h) => h.slug.startsWith("quasarbeetle-")).length).toBe(3);
    expect((await engine().listSynonyms()).map((s) => s.id)).toContain("contract-moonrabbit");
    await engine().deleteSynonym("contract-moonrabbit");
    expect((await engine().search(request("moonrabbit"))).hits.some((h) => h.slug.startsWith("quasarbeetle-"))).toBe(false);
  });

  it("suggests titles, authors and series", async () => {
    const s = await engine().suggest("quasarbe", 10);
    expect(s.length).toBeGreaterThan(0);
    expect(s.length).toBeLessThanOrEqual(10);
    expect(s.some((x) => x.kind === "title")).toBe(true);
    expect((await engine().suggest("vexcom", 10)).some((x) => x.kind === "author" && x.slug === "ottoline-vexcombe")).toBe(true);
  });

  it("replaceProducts removes SKUs that are gone and whole products with none left", async () => {
    await engine().replaceProducts(ids, [doc(0, "paperback"), doc(1, "paperback"), doc(1, "hardcover")]);
    const res = await engine().search(request("quasarbeetle"));
    expect(res.hits.map((h) => h.slug).sort()).toEqual(["quasarbeetle-0", "quasarbeetle-1"]);
    expect(res.hits.find((h) => h.slug === "quasarbeetle-0")?.variants.map((v) => v.format)).toEqual(["paperback"]);
    if (name === "postgres") {
      // The product's display row goes with its last SKU, and delete() drops it the same way.
      const left = await pool.query<{ product_id: string }>("select product_id::text from search_products where product_id = any($1::bigint[]) order by 1", [ids]);
      expect(left.rows.map((r) => Number(r.product_id))).toEqual([BASE, BASE + 1]);
      await engine().delete([doc(0, "paperback").sku]);
      const after = await pool.query<{ n: number }>("select count(*)::int as n from search_products where product_id = $1", [BASE]);
      expect(after.rows[0]?.n).toBe(0);
    }
    await engine().replaceProducts(ids, docs);
  });
});

describe("the Typesense fake checks requests against the API reference", () => {
  it("refuses a wrong API key, unknown parameters, non-facet group_by and undeclared fields", async () => {
    const base = `http://127.0.0.1:${fake.port}/collections/books_contract/documents/search`;
    const h = { "x-typesense-api-key": "contract-key" };
    expect((await fetch(`${base}?q=x&query_by=name`, { headers: { "x-typesense-api-key": "wrong" } })).status).toBe(401);
    expect((await fetch(`${base}?q=x&query_by=name&querry=1`, { headers: h })).status).toBe(400);
    expect((await fetch(`${base}?q=x&query_by=name&group_by=name`, { headers: h })).status).toBe(400);
    expect((await fetch(`${base}?q=x&query_by=nonexistent`, { headers: h })).status).toBe(404);
    expect((await fetch(`${base}?q=x&query_by=name&per_page=500`, { headers: h })).status).toBe(422);
    expect(fake.requests.some((r) => r.includes("group_by=product_id"))).toBe(true);
  });

  it("as Typesense 30: the collection synonyms API is gone, and the engine kept its synonyms in a linked set", async () => {
    const h = { "x-typesense-api-key": "contract-key" };
    const v30 = `http://127.0.0.1:${fake30.port}`;
    expect((await fetch(`${v30}/collections/books_contract/synonyms`, { headers: h })).status).toBe(404);
    const collection = (await (await fetch(`${v30}/collections/books_contract`, { headers: h })).json()) as { synonym_sets?: string[] };
    expect(collection.synonym_sets).toEqual(["books_contract_synonyms"]);
    expect(fake30.requests).toContain("GET /debug");
    expect(fake30.requests.some((r) => r.startsWith("PUT /synonym_sets/books_contract_synonyms/items/"))).toBe(true);
    expect(fake30.requests.some((r) => r.includes("synonym_sets=books_contract_synonyms"))).toBe(true);
    // The engine sends the v30 parameter only to a v30 server; the v29 fake refuses it.
    expect(fake.requests.some((r) => r.includes("synonym_sets"))).toBe(false);
    expect((await fetch(`http://127.0.0.1:${fake.port}/collections/books_contract/documents/search?q=x&query_by=name&synonym_sets=s`, { headers: h })).status).toBe(400);
  });
});
