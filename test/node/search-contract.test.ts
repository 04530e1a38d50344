/**
 * The SearchEngine contract, run against both engines: Postgres (the test database) and Typesense (through the
 * real `typesense` client against dev/typesense-fake.ts, which checks each request against the API reference).
 * Documents use product ids and words that exist nowhere in the seeded catalog, and are removed afterwards.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type pg from "pg";
import { startTypesenseFake } from "../../dev/typesense-fake";
import type { SearchDocument, SearchEngine, SearchRequest } from "../../workers/search/engine";
import { collectionSchema, TypesenseSearchEngine } from "../../workers/search/typesense-engine";
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

/**
 * Query understanding (issue 13): an author, a series, a subject and an exact title, each with a book that only
 * resembles it in its title and is read more. Popularity is what orders the books a query names. Every word is
 * invented (and removed from the dictionary afterwards) or already in the seeded catalog, whose word weights a
 * rating count of 1 cannot raise.
 */
const u = (n: number, name: string, popularity: number, over: Partial<SearchDocument> = {}): SearchDocument => ({
  ...doc(0, "paperback", {
    sku: `ZZ${BASE + n}-PB`,
    product_id: BASE + n,
    name,
    slug: `understanding-${n}`,
    series: null,
    authors: ["Pellam Oxtrude"],
    author_slugs: ["pellam-oxtrude"],
    popularity,
    ratings_count: 1,
    featured: false,
  }),
  ...over,
});
const ysolde = { authors: ["Ysolde Farthingdrake"], author_slugs: ["ysolde-farthingdrake"] };
const cycle = { series: "Glimmerquartz Cycle", series_keys: ["glimmerquartz cycle"], series_names: ["Glimmerquartz Cycle"], authors: ["Odalric Penhallow"], author_slugs: ["odalric-penhallow"] };
const wraith = (weight: number) => ({ subjects: ["snorkelwraith"], subject_names: ["Snorkelwraith"], subject_weights: [weight] });
const understanding = [
  u(10, "Letters from Umberwick", 40, ysolde),
  u(11, "The Quillfen Road", 90, ysolde),
  u(12, "Night of the Sallowmere", 15, ysolde),
  // Both of her names in the title, and read more than all her books: still below them.
  u(13, "Ysolde Farthingdrake and the Glass King", 1000),
  u(20, "Daughter of Brassmere", 100, cycle),
  u(21, "The Brassmere City", 300, cycle),
  u(22, "A Story for Brassmere", 200, cycle),
  // A box set of the series (more read than its first book) and a companion outside it (more read than all).
  u(23, "The Glimmerquartz Cycle Complete Trilogy", 250, { ...cycle, is_collection: true }),
  u(24, "A Companion to the Glimmerquartz Cycle", 1000, { is_collection: true }),
  u(30, "The House of Wexmoor", 70, wraith(30)),
  u(31, "The Dark of Ossory", 20, wraith(10)),
  u(32, "Light for Tamberlow", 50, wraith(20)),
  u(33, "Snorkelwraith Summer", 500),
  // The least read of the subject's books, but one readers name it for (a main subject: strong and among its ten).
  u(34, "The Orchard at Veltmoor", 10, wraith(400)),
  // A book in two series is found by either name; a series whose name ends in a filler word ("saga") too.
  u(26, "Ashes at Fenmoravel", 30, { series: "Duskfarrow Saga", series_keys: ["duskfarrow saga", "ebonwick tales"], series_names: ["Duskfarrow Saga", "Ebonwick Tales"] }),
  u(27, "Fenmoravel Rising", 80, { series: "Ebonwick Tales", series_keys: ["ebonwick tales"], series_names: ["Ebonwick Tales"] }),
  u(40, "The House of Obbrymoor", 5, { authors: ["Ferrant Ludgrove"], author_slugs: ["ferrant-ludgrove"] }),
  u(41, "Return to the House of Obbrymoor", 400, { authors: ["Wendeline Quorrish"], author_slugs: ["wendeline-quorrish"] }),
];
const uIds = understanding.map((d) => d.product_id);
const slugsOf = (n: number[]): string[] => n.map((i) => `understanding-${i}`);
/** Words of the fixtures found nowhere else, removed from the Postgres dictionary afterwards. */
const inventedWords = ["quasarbeetle", "vexcombe", "ottoline", "ysolde", "farthingdrake", "oxtrude", "pellam", "glimmerquartz", "brassmere", "odalric", "penhallow", "snorkelwraith", "wexmoor", "ossory", "obbrymoor", "ferrant", "ludgrove", "wendeline", "quorrish", "umberwick", "quillfen", "sallowmere", "tamberlow", "veltmoor", "fenmoravel", "duskfarrow", "ebonwick"];
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
    await e.replaceProducts(uIds, understanding);
  }
});

afterAll(async () => {
  await engines.postgres?.replaceProducts(ids, []);
  await engines.postgres?.replaceProducts(uIds, []);
  await engines.postgres?.deleteSynonym("contract-moonrabbit");
  // Entities outlive their books (as in production); these are the fixtures' own.
  await pool.query(
    `delete from search_suggestions where kind <> 'title' and (slug in ('ottoline-vexcombe', 'ysolde-farthingdrake', 'pellam-oxtrude', 'odalric-penhallow',
       'ferrant-ludgrove', 'wendeline-quorrish', 'snorkelwraith') or id in ('series:glimmerquartz cycle', 'series:ebonwick tales', 'series:duskfarrow saga'))`,
  );
  await pool.query("delete from search_terms where word = any($1::text[])", [inventedWords]);
  await pool.query("delete from search_term_variants where word = any($1::text[])", [inventedWords]);
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

  const top = async (q: string, n: number): Promise<string[]> => (await engine().search(request(q))).hits.slice(0, n).map((h) => h.slug);

  it("an author's name puts her books first, the most read first, ahead of a title that holds her name", async () => {
    const res = await engine().search(request("ysolde farthingdrake"));
    expect(res.hits.map((h) => h.slug)).toEqual(slugsOf([11, 10, 12, 13]));
    expect(res.found).toBe(4);
    // Her name is marked on her books though the text search did not pick them.
    expect(res.hits[0]?.highlights.authors).toEqual(["<mark>Ysolde</mark> <mark>Farthingdrake</mark>"]);
  });

  it("shopper filler around an author's name changes nothing", async () => {
    const expected = slugsOf([11, 10, 12, 13]);
    expect(await top("books by ysolde farthingdrake", 4)).toEqual(expected);
    expect(await top("Ysolde Farthingdrake novels", 4)).toEqual(expected);
  });

  it("a one-letter typo in the surname still finds the author first, and offers the name as 'did you mean'", async () => {
    expect(await top("ysolde farthingdreke", 4)).toEqual(slugsOf([11, 10, 12, 13]));
    expect((await engine().search(request("ysolde farthingdreke"))).didYouMean).toBe("ysolde farthingdrake");
    expect((await engine().search(request("ysolde farthingdrake"))).didYouMean).toBeUndefined();
  });

  it("a series name puts the series first by popularity, its box set after its books, a companion after both", async () => {
    const res = await engine().search(request("the glimmerquartz cycle"));
    expect(res.hits.map((h) => h.slug)).toEqual(slugsOf([21, 22, 20, 23, 24]));
    expect(res.found).toBe(5);
  });

  it("a subject query returns the subject's books, main subject first, then the most read, ahead of a title with the word", async () => {
    expect(await top("snorkelwraith books", 5)).toEqual(slugsOf([34, 30, 32, 31, 33]));
    // The plural and other filler reach the same subject.
    expect(await top("snorkelwraiths novels", 3)).toEqual(slugsOf([34, 30, 32]));
  });

  it("a book in two series is found by either, and a series named '… saga' by its whole name", async () => {
    expect(await top("ebonwick tales", 2)).toEqual(slugsOf([27, 26]));
    expect(await top("the ebonwick tales series", 2)).toEqual(slugsOf([27, 26]));
    expect(await top("duskfarrow saga", 1)).toEqual(slugsOf([26]));
  });

  it("an exact title comes first, ahead of a more read title that contains it", async () => {
    expect(await top("the house of obbrymoor", 2)).toEqual(slugsOf([40, 41]));
    expect(await top("house of obbrymoor", 2)).toEqual(slugsOf([40, 41]));
  });

  it("filters and sorts apply to the books a query names as to any other", async () => {
    const cheap = await engine().search(request("ysolde farthingdrake", { sort: "popularity" }));
    expect(cheap.hits.map((h) => h.slug)).toEqual(slugsOf([13, 11, 10, 12]));
    const rated = await engine().search(request("the glimmerquartz cycle", { filters: { format: [], language: [], category: "fantasy", priceMax: 1000 }, facets: ["author"] }));
    expect(rated.found).toBe(5);
    expect(rated.facets.author).toEqual([{ value: "odalric-penhallow", count: 4 }, { value: "pellam-oxtrude", count: 1 }]);
    const paged = await engine().search(request("the glimmerquartz cycle", { page: 2, perPage: 2 }));
    expect(paged.hits.map((h) => h.slug)).toEqual(slugsOf([20, 23]));
    expect(paged.found).toBe(5);
  });

  it("suggests titles, authors, series and subjects with their kinds", async () => {
    const pick = (list: Awaited<ReturnType<SearchEngine["suggest"]>>) => list.map(({ kind, text, slug }) => ({ kind, text, slug }));
    const author = pick(await engine().suggest("farthingd", 10));
    expect(author).toContainEqual({ kind: "author", text: "Ysolde Farthingdrake", slug: "ysolde-farthingdrake" });
    expect(author).toContainEqual({ kind: "title", text: "Ysolde Farthingdrake and the Glass King", slug: "understanding-13" });
    const series = pick(await engine().suggest("glimmerqu", 10));
    expect(series).toContainEqual({ kind: "series", text: "Glimmerquartz Cycle", slug: null });
    expect(series).toContainEqual({ kind: "title", text: "The Glimmerquartz Cycle Complete Trilogy", slug: "understanding-23" });
    const subject = await engine().suggest("snorkelwr", 10);
    expect(pick(subject)).toContainEqual({ kind: "subject", text: "Snorkelwraith", slug: "snorkelwraith" });
    expect(pick(subject)).toContainEqual({ kind: "title", text: "Snorkelwraith Summer", slug: "understanding-33" });
    for (const s of subject) expect(s.highlight).toContain("<mark>");
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

  it("refuses what Typesense refuses in sort_by and filter_by", async () => {
    const base = `http://127.0.0.1:${fake.port}/collections/books_contract/documents/search?q=x&query_by=name`;
    const h = { "x-typesense-api-key": "contract-key" };
    const status = async (extra: Record<string, string>): Promise<number> => (await fetch(`${base}&${new URLSearchParams(extra).toString()}`, { headers: h })).status;
    expect(await status({ sort_by: "price:asc,rating:desc,popularity:desc,ratings_count:desc" })).toBe(422);
    expect(await status({ sort_by: "_eval(in_stock:true):desc,_eval(featured:true):desc" })).toBe(422);
    expect(await status({ sort_by: "nonexistent:desc" })).toBe(404);
    expect(await status({ sort_by: "name:desc" })).toBe(404);
    expect(await status({ sort_by: "_text_match(buckets: ten):desc" })).toBe(400);
    expect(await status({ sort_by: "_text_match(bukets: 10):desc" })).toBe(400);
    expect(await status({ sort_by: "_eval([ (nonexistent:=x):2 ]):desc" })).toBe(404);
    expect(await status({ sort_by: "_eval([ (in_stock:true):x ]):desc" })).toBe(400);
    expect(await status({ filter_by: "nonexistent:=x" })).toBe(404);
    // Not indexed, so neither filterable nor sortable.
    expect(await status({ filter_by: "slug:=quasarbeetle-0" })).toBe(404);
    expect(await status({ filter_by: "in_stock:yes" })).toBe(400);
    expect(await status({ filter_by: "(in_stock:true || featured:true" })).toBe(400);
    expect(await status({ filter_by: "price:>=abc" })).toBe(400);
    expect(await status({ filter_by: "(in_stock:true || featured:true) && series_keys:!=[`x`, `y`] && is_collection:false", sort_by: "_eval([ (series_keys:=[`a b`] && is_collection:false):5, (author_slugs:=[a]):3 ]):desc,_text_match(buckets: 10):desc,popularity:desc" })).toBe(200);
  });

  it("evaluates _eval, || and buckets as Typesense does", async () => {
    const h = { "x-typesense-api-key": "contract-key", "content-type": "application/json" };
    const root = `http://127.0.0.1:${fake.port}/collections`;
    const fields = [{ name: "t", type: "string[]" }, { name: "u", type: "string[]" }, { name: "v", type: "string[]" }, { name: "k", type: "string[]", facet: true }, { name: "p", type: "int32" }, { name: "b", type: "bool" }];
    expect((await fetch(root, { method: "POST", headers: h, body: JSON.stringify({ name: "fake_semantics", fields }) })).status).toBe(201);
    // The words in t (d0-d6), u (d7-d13) or v (d14-d19): three text scores, with query_by_weights 3,2,1.
    const rows = Array.from({ length: 20 }, (_, i) => ({ id: `d${i}`, t: i < 7 ? ["amber fox"] : [], u: i >= 7 && i < 14 ? ["amber fox"] : [], v: i >= 14 ? ["amber fox"] : [], k: [`k${i % 3}`], p: i, b: i % 4 === 0 }));
    await fetch(`${root}/fake_semantics/documents/import?action=upsert`, { method: "POST", headers: h, body: rows.map((r) => JSON.stringify(r)).join("\n") });
    const ids = async (params: Record<string, string>): Promise<string[]> => {
      const res = await fetch(`${root}/fake_semantics/documents/search?${new URLSearchParams({ q: "*", query_by: "t,u,v", query_by_weights: "3,2,1", per_page: "20", ...params }).toString()}`, { headers: h });
      return ((await res.json()) as { hits: { document: { id: string } }[] }).hits.map((x) => x.document.id);
    };
    // The first matching expression's weight, not the sum: d0 (k0 and b) scores 1 like every other k0 or b document.
    expect(await ids({ sort_by: "_eval([ (k:=k0):1, (b:true):1 ]):desc,p:asc", per_page: "4" })).toEqual(["d0", "d3", "d4", "d6"]);
    // && and || group from the left: (k0 || k1) && b.
    expect((await ids({ filter_by: "k:=k0 || k:=k1 && b:true", sort_by: "p:asc" })).sort()).toEqual(["d0", "d12", "d16", "d4"].sort());
    // Unbucketed, text decides (t, then u, then v); 2 buckets cut the sorted 20 into blocks of 10 ordered by p,
    // so d11-d13 join t's block and d7-d10 fall into v's; more buckets than results leave the order alone.
    expect((await ids({ q: "amber fox", sort_by: "_text_match:desc,p:desc" })).slice(0, 3)).toEqual(["d6", "d5", "d4"]);
    const bucketed = await ids({ q: "amber fox", sort_by: "_text_match(buckets: 2):desc,p:desc" });
    expect(bucketed.slice(0, 4)).toEqual(["d13", "d12", "d11", "d6"]);
    expect(bucketed.slice(10, 13)).toEqual(["d19", "d18", "d17"]);
    expect(bucketed.slice(16)).toEqual(["d10", "d9", "d8", "d7"]);
    expect((await ids({ q: "amber fox", sort_by: "_text_match(buckets: 30):desc,p:desc" })).slice(0, 2)).toEqual(["d6", "d5"]);
    await fetch(`${root}/fake_semantics`, { method: "DELETE", headers: h });
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

describe("the Typesense engine's own bookkeeping", () => {
  it("adds the fields of query understanding to a collection created before them, and creates the entity collection", async () => {
    const older = await startTypesenseFake({ apiKey: "k" });
    try {
      const schema = collectionSchema("books_old");
      const fields = (schema.fields ?? []).filter((f) => !["subjects", "subject_names", "subject_weights", "series_keys", "is_collection", "lead_author_slug", "title_keys"].includes(f.name));
      const h = { "x-typesense-api-key": "k", "content-type": "application/json" };
      expect((await fetch(`http://127.0.0.1:${older.port}/collections`, { method: "POST", headers: h, body: JSON.stringify({ ...schema, fields }) })).status).toBe(201);
      const engine = new TypesenseSearchEngine({ host: "127.0.0.1", port: older.port, protocol: "http", apiKey: "k", collection: "books_old" });
      await engine.ensureReady();
      await engine.replaceProducts(uIds, understanding);
      expect((await engine.search(request("the glimmerquartz cycle"))).hits.map((h) => h.slug)).toEqual(slugsOf([21, 22, 20, 23, 24]));
      expect(older.requests).toContain("PATCH /collections/books_old");
      expect(older.requests).toContain("POST /collections");
    } finally {
      await older.close();
    }
  });

  it("keeps an entity's largest weight when a later batch holds only less read books", async () => {
    const engine = engines.typesense as SearchEngine;
    await engine.replaceProducts([BASE + 90], [u(90, "The Brassmere Road", 1, cycle)]);
    const h = { "x-typesense-api-key": "contract-key" };
    const res = await fetch(`http://127.0.0.1:${fake.port}/collections/books_contract_entities/documents/search?q=*&query_by=label&filter_by=${encodeURIComponent("kind:=series")}`, { headers: h });
    const hits = ((await res.json()) as { hits: { document: { label: string; weight: number } }[] }).hits;
    expect(hits.find((x) => x.document.label === "Glimmerquartz Cycle")?.document.weight).toBe(300);
    await engine.replaceProducts([BASE + 90], []);
  });
});
