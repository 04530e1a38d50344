import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import pg from "pg";
import { loadStackConfig, pgUrl, projectRoot } from "../../dev/config";
import { ensureDatabase, ensurePostgresPrimary } from "../../dev/services";
import { seed, SMALL_SEED_BOOKS } from "../../dev/seed";
import { buildProducts, slugify, stableUuid } from "../../dev/seed-catalog";

const cfg = loadStackConfig();
const DB = "nexusbooks_seedtest";
const url = pgUrl(cfg.pgPrimaryPort, DB);

/** A fingerprint of every catalog table: row counts and an md5 over the ordered rows. */
async function fingerprint(): Promise<Record<string, string>> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const out: Record<string, string> = {};
    for (const t of ["categories", "authors", "products", "product_categories", "product_authors", "variants", "inventory", "inventory_movements", "attribute_definitions"]) {
      const r = await client.query<{ n: string; h: string }>(`select count(*) as n, md5(coalesce(string_agg(x::text, '|' order by x::text), '')) as h from ${t} x`);
      out[t] = `${r.rows[0]?.n}:${r.rows[0]?.h}`;
    }
    return out;
  } finally {
    await client.end();
  }
}

beforeAll(async () => {
  await ensurePostgresPrimary(cfg, () => undefined);
  const admin = new pg.Client({ connectionString: pgUrl(cfg.pgPrimaryPort, "postgres") });
  await admin.connect();
  await admin.query(`drop database if exists ${DB} with (force)`);
  await admin.end();
  await ensureDatabase(cfg, DB, () => undefined);
  execFileSync(`${projectRoot}/node_modules/.bin/drizzle-kit`, ["migrate"], { cwd: projectRoot, env: { ...process.env, DATABASE_URL: url }, stdio: "pipe" });
}, 120_000);

afterAll(async () => {
  const admin = new pg.Client({ connectionString: pgUrl(cfg.pgPrimaryPort, "postgres") });
  await admin.connect();
  await admin.query(`drop database if exists ${DB} with (force)`);
  await admin.end();
});

describe("seed", () => {
  it("loads the small catalog, and a second run changes nothing", async () => {
    const first = await seed(url, { small: true });
    expect(first.products).toBe(SMALL_SEED_BOOKS);
    expect(first.inserted.products).toBe(SMALL_SEED_BOOKS);
    const before = await fingerprint();
    const second = await seed(url, { small: true });
    expect(Object.values(second.inserted).every((n) => n === 0)).toBe(true);
    expect(await fingerprint()).toEqual(before);
  }, 60_000);

  it("gives every book 1-3 format variants, prices in minor units and a ledger entry per stocked SKU", async () => {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      const r = await client.query<{ min: number; max: number }>(
        "select min(n)::int as min, max(n)::int as max from (select count(*) as n from variants group by product_id) x",
      );
      expect(r.rows[0]).toEqual({ min: 1, max: 3 });
      const bad = await client.query("select 1 from products where min_price > max_price or min_price <= 0 or currency <> 'USD'");
      expect(bad.rowCount).toBe(0);
      const ledger = await client.query<{ ok: boolean }>(
        `select bool_and(coalesce(m.total, 0) = i.on_hand) as ok from inventory i
         left join (select sku, sum(delta) as total from inventory_movements group by sku) m on m.sku = i.sku`,
      );
      expect(ledger.rows[0]?.ok).toBe(true);
      const untracked = await client.query("select 1 from variants v join inventory i on i.variant_id = v.id where not v.track_inventory");
      expect(untracked.rowCount).toBe(0);
    } finally {
      await client.end();
    }
  });
});

describe("seed derivation", () => {
  it("is deterministic and makes unique slugs", () => {
    const rows = [
      { book_id: "2", title_base: "Same Title", authors: "B Author", genres: "fantasy", isbn13: "", ratings_count: "5" },
      { book_id: "1", title_base: "Same Title", authors: "A Author", genres: "fantasy|fiction", isbn13: "", ratings_count: "9" },
      { book_id: "3", title_base: "Same Title", authors: "A Author", genres: "", isbn13: "", ratings_count: "1" },
      { book_id: "4", title_base: "Same Title", authors: "A Author", genres: "", isbn13: "", ratings_count: "1" },
    ];
    const a = buildProducts(rows);
    expect(buildProducts(rows)).toEqual(a);
    expect(a.map((p) => p.slug)).toEqual(["same-title", "same-title-b-author", "same-title-a-author", "same-title-a-author-4"]);
    expect(a[0]?.categorySlug).toBe("fantasy");
    expect(a[2]?.categorySlug).toBe("books");
    expect(slugify("Les Misérables & Co.")).toBe("les-miserables-and-co");
    expect(stableUuid("x")).toBe(stableUuid("x"));
    expect(stableUuid("x")).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });
});
