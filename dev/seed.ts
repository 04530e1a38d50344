/**
 * Loads the book catalog into Postgres (primary, direct connection). Idempotent: every insert is
 * `ON CONFLICT DO NOTHING` on a natural key, so a second run changes nothing, not even rows edited since.
 * Usage: tsx dev/seed.ts [--small] [--database-url URL]
 */
import { readFile } from "node:fs/promises";
import path from "node:path";
import pg from "pg";
import { parseCsvObjects } from "./csv";
import { buildProducts, CATEGORY_TREE, stableUuid } from "./seed-catalog";
import { projectRoot } from "./config";

/** Books loaded by --small: the most-rated 600 (ids 1..600), enough for every filter and sort. */
export const SMALL_SEED_BOOKS = 600;

type Row = (string | number | boolean | null)[];

async function insertMany(client: pg.ClientBase, table: string, columns: string[], rows: Row[], conflict: string): Promise<number> {
  let inserted = 0;
  const perChunk = Math.floor(30_000 / columns.length);
  for (let start = 0; start < rows.length; start += perChunk) {
    const chunk = rows.slice(start, start + perChunk);
    const params: Row = [];
    const tuples = chunk.map((r) => {
      const ph = r.map((v) => {
        params.push(v);
        return `$${params.length}`;
      });
      return `(${ph.join(",")})`;
    });
    const res = await client.query(`insert into ${table} (${columns.join(",")}) values ${tuples.join(",")} ${conflict}`, params);
    inserted += res.rowCount ?? 0;
  }
  return inserted;
}

export interface SeedResult {
  products: number;
  inserted: Record<string, number>;
  ms: number;
}

/** Seeds the catalog into the database at `databaseUrl`. */
export async function seed(databaseUrl: string, opts: { small?: boolean; log?: (m: string) => void } = {}): Promise<SeedResult> {
  const started = Date.now();
  const log = opts.log ?? (() => undefined);
  const csv = await readFile(path.join(projectRoot, "dev/seed-data/books_normalized.csv"), "utf8");
  const products = buildProducts(parseCsvObjects(csv), opts.small ? SMALL_SEED_BOOKS : undefined);
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  const inserted: Record<string, number> = {};
  try {
    await client.query("begin");
    // Serialise concurrent seeders (dev and test launchers started together).
    await client.query("select pg_advisory_xact_lock(hashtext('nexusbooks-seed'))");

    for (const [i, [slug, name, parent]] of CATEGORY_TREE.entries()) {
      const parentRow = parent ? await client.query<{ id: number; path: string; depth: number }>("select id, path, depth from categories where slug = $1", [parent]) : null;
      const p = parentRow?.rows[0] ?? null;
      const res = await client.query(
        `insert into categories (parent_id, slug, name, path, depth, position) values ($1,$2,$3,$4,$5,$6) on conflict (slug) do nothing`,
        [p?.id ?? null, slug, name, p ? `${p.path}/${slug}` : slug, p ? p.depth + 1 : 0, i],
      );
      inserted.categories = (inserted.categories ?? 0) + (res.rowCount ?? 0);
    }
    const cats = await client.query<{ id: number; slug: string; parent_id: number | null }>("select id, slug, parent_id from categories");
    const catId = new Map(cats.rows.map((r) => [r.slug, r.id]));
    const parentOf = new Map(cats.rows.map((r) => [r.id, r.parent_id]));

    const root = catId.get("books") as number;
    inserted.attribute_definitions = await insertMany(
      client,
      "attribute_definitions",
      ["category_id", "code", "name", "type", "scope", "options", "filterable", "required"],
      [
        [root, "format", "Format", "enum", "variant", JSON.stringify(["paperback", "hardcover", "ebook"]), true, true],
        [root, "series", "Series", "text", "product", null, false, false],
        [root, "original_title", "Original title", "text", "product", null, false, false],
        [root, "isbn10", "ISBN-10", "text", "product", null, false, false],
        [root, "publication_year", "First published", "number", "product", null, true, false],
      ],
      "on conflict (category_id, code) do nothing",
    );

    const authorRows = new Map<string, string>();
    for (const p of products) for (const a of p.authors) if (!authorRows.has(a.slug)) authorRows.set(a.slug, a.name);
    inserted.authors = await insertMany(client, "authors", ["slug", "name"], [...authorRows].map(([s, n]) => [s, n]), "on conflict (slug) do nothing");
    const authorIds = new Map((await client.query<{ id: number; slug: string }>("select id, slug from authors")).rows.map((r) => [r.slug, r.id]));

    inserted.products = await insertMany(
      client,
      "products",
      ["id", "slug", "name", "subtitle", "description", "category_id", "gtin", "language", "published_year", "images", "attributes", "base_price", "currency", "min_price", "max_price", "formats", "featured", "status", "rating_avg", "ratings_count", "popularity"],
      products.map((p) => [
        p.id, p.slug, p.name, p.subtitle, p.description, catId.get(p.categorySlug) ?? root, p.gtin, p.language, p.publishedYear,
        JSON.stringify(p.images), JSON.stringify(p.attributes), p.basePrice, "USD", p.minPrice, p.maxPrice,
        `{${p.formats.join(",")}}`, p.featured, "active", p.ratingAvg, p.ratingsCount, p.popularity,
      ]),
      "on conflict (id) do nothing",
    );

    const pc: Row[] = [];
    for (const p of products) {
      const direct = new Set((p.genreSlugs.length > 0 ? p.genreSlugs : [p.categorySlug]).map((s) => catId.get(s) as number));
      const all = new Map<number, boolean>();
      for (const id of direct) {
        all.set(id, true);
        let up = parentOf.get(id) ?? null;
        while (up !== null) {
          if (!all.has(up)) all.set(up, false);
          up = parentOf.get(up) ?? null;
        }
      }
      for (const [id, isDirect] of all) pc.push([id, p.id, isDirect]);
    }
    inserted.product_categories = await insertMany(client, "product_categories", ["category_id", "product_id", "direct"], pc, "on conflict do nothing");

    const pa: Row[] = products.flatMap((p) => p.authors.map((a, i) => [p.id, authorIds.get(a.slug) as number, i, "author"]));
    inserted.product_authors = await insertMany(client, "product_authors", ["product_id", "author_id", "position", "role"], pa, "on conflict do nothing");

    // Subjects from the readers' shelf tags (dev/seed-data/subjects.csv, book_subjects.csv; tools/build-subjects.ts).
    const subjectRows = parseCsvObjects(await readFile(path.join(projectRoot, "dev/seed-data/subjects.csv"), "utf8"));
    inserted.subjects = await insertMany(
      client,
      "subjects",
      ["slug", "name", "aliases"],
      subjectRows.map((r) => {
        const name = r.name ?? r.subject ?? "";
        return [r.subject ?? "", name.charAt(0).toUpperCase() + name.slice(1), `{${(r.aliases ?? "").split("|").filter(Boolean).map((a) => `"${a}"`).join(",")}}`];
      }),
      "on conflict (slug) do nothing",
    );
    const subjectIds = new Map((await client.query<{ id: number; slug: string }>("select id, slug from subjects")).rows.map((r) => [r.slug, r.id]));
    const seeded = new Set(products.map((p) => p.id));
    const bookSubjects = parseCsvObjects(await readFile(path.join(projectRoot, "dev/seed-data/book_subjects.csv"), "utf8"));
    inserted.product_subjects = await insertMany(
      client,
      "product_subjects",
      ["product_id", "subject_id", "weight"],
      bookSubjects
        .filter((r) => seeded.has(Number(r.book_id)) && subjectIds.has(r.subject ?? ""))
        .map((r) => [Number(r.book_id), subjectIds.get(r.subject ?? "") as number, Number(r.weight)]),
      "on conflict do nothing",
    );

    const vRows: Row[] = products.flatMap((p) =>
      p.variants.map((v) => [p.id, v.sku, v.name, JSON.stringify({ format: v.format }), v.priceOverride, "active", v.trackInventory, false, v.position]),
    );
    inserted.variants = await insertMany(client, "variants", ["product_id", "sku", "name", "attributes", "price_override", "status", "track_inventory", "backorder_allowed", "position"], vRows, "on conflict (sku) do nothing");
    const variantIds = new Map((await client.query<{ id: string; sku: string }>("select id, sku from variants")).rows.map((r) => [r.sku, Number(r.id)]));

    const tracked = products.flatMap((p) => p.variants.filter((v) => v.trackInventory));
    inserted.inventory = await insertMany(
      client,
      "inventory",
      ["variant_id", "sku", "on_hand"],
      tracked.map((v) => [variantIds.get(v.sku) as number, v.sku, v.onHand]),
      "on conflict (variant_id) do nothing",
    );
    inserted.inventory_movements = await insertMany(
      client,
      "inventory_movements",
      ["id", "variant_id", "sku", "delta", "reason", "ref", "on_hand_after"],
      tracked.filter((v) => v.onHand > 0).map((v) => [stableUuid(`initial:${v.sku}`), variantIds.get(v.sku) as number, v.sku, v.onHand, "initial", "seed", v.onHand]),
      "on conflict (id) do nothing",
    );

    // Explicit ids were inserted: move identity sequences past them so later inserts do not collide.
    for (const [table, col] of [["products", "id"], ["variants", "id"], ["categories", "id"], ["authors", "id"], ["subjects", "id"]] as const) {
      await client.query(`select setval(pg_get_serial_sequence('${table}', '${col}'), greatest((select coalesce(max(${col}), 0) from ${table}), 1))`);
    }
    await client.query("commit");
    // Fresh statistics, or the planner picks hash joins over whole tables for per-page subqueries.
    if (Object.values(inserted).some((n) => n > 0)) await client.query("analyze");
  } catch (err) {
    await client.query("rollback").catch(() => undefined);
    throw err;
  } finally {
    await client.end();
  }
  const result = { products: products.length, inserted, ms: Date.now() - started };
  log(`seed: ${products.length} books, inserted ${JSON.stringify(inserted)} in ${result.ms} ms`);
  return result;
}

const isMain = process.argv[1] && path.resolve(process.argv[1]) === path.resolve(projectRoot, "dev/seed.ts");
if (isMain) {
  const args = process.argv.slice(2);
  const urlIdx = args.indexOf("--database-url");
  const url = urlIdx >= 0 ? args[urlIdx + 1] : process.env.DATABASE_URL_DIRECT;
  if (!url) {
    console.error("usage: tsx dev/seed.ts [--small] --database-url postgres://...");
    process.exit(2);
  }
  seed(url, { small: args.includes("--small"), log: (m) => console.log(m) }).catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
