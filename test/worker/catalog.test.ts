import { beforeAll, describe, expect, it } from "vitest";
import { env } from "cloudflare:test";
import { ADMIN_TOKEN, call, json, sql, replicaCaughtUp } from "./helpers";
import type { ErrorBody } from "./helpers";

interface ListItem {
  id: number;
  slug: string;
  name: string;
  price: { from: { amount: number; currency: string } };
  formats: string[];
  rating: { average: number; count: number };
  in_stock: boolean;
  language: string | null;
  published_year: number | null;
  authors: { slug: string; name: string }[];
  category: { slug: string };
}
interface Page {
  data: ListItem[];
  page: { next_cursor: string | null; has_more: boolean; limit: number };
}
interface Node {
  slug: string;
  product_count: number;
  children: Node[];
}

async function list(path: string): Promise<Page> {
  const res = await call(path);
  expect(res.status, await res.clone().text()).toBe(200);
  return json<Page>(res);
}

async function walk(query: string, limit = 50): Promise<ListItem[]> {
  const all: ListItem[] = [];
  let cursor: string | null = null;
  for (let i = 0; i < 200; i++) {
    const sep = query.includes("?") ? "&" : "?";
    const page = await list(`${query}${sep}limit=${limit}${cursor ? `&cursor=${cursor}` : ""}`);
    all.push(...page.data);
    if (!page.page.has_more) return all;
    cursor = page.page.next_cursor;
  }
  throw new Error("pagination did not end");
}

beforeAll(async () => {
  await replicaCaughtUp();
});

describe("category tree", () => {
  it("returns the tree with product counts that include descendants", async () => {
    const res = await call("/v1/categories");
    expect(res.status).toBe(200);
    const { data } = await json<{ data: Node[] }>(res);
    expect(data.map((n) => n.slug)).toEqual(["books"]);
    const books = data[0] as Node;
    const fiction = books.children.find((n) => n.slug === "fiction") as Node;
    const fantasy = fiction.children.find((n) => n.slug === "fantasy") as Node;
    expect(fantasy.product_count).toBeGreaterThan(0);
    expect(fiction.product_count).toBeGreaterThanOrEqual(fantasy.product_count);
    const [{ n }] = (await sql<{ n: string }>("primary", "select count(*) as n from products where status = 'active'")) as [{ n: string }];
    expect(books.product_count).toBe(Number(n));
  });

  it("rejects query parameters it does not take", async () => {
    const res = await call("/v1/categories?depth=2");
    expect(res.status).toBe(400);
    expect((await json<ErrorBody>(res)).error.code).toBe("UNKNOWN_PARAMETER");
  });
});

describe("product list", () => {
  it("walks a category with cursor pagination: every product exactly once, in order", async () => {
    const items = await walk("/v1/categories/fantasy/products?sort=price_asc");
    const [{ n }] = (await sql<{ n: string }>(
      "primary",
      `select count(*) as n from product_categories pc join categories c on c.id = pc.category_id
       join products p on p.id = pc.product_id where c.slug = 'fantasy' and p.status = 'active'`,
    )) as [{ n: string }];
    expect(items.length).toBe(Number(n));
    expect(new Set(items.map((i) => i.id)).size).toBe(items.length);
    for (let i = 1; i < items.length; i++) {
      const a = items[i - 1] as ListItem;
      const b = items[i] as ListItem;
      expect(a.price.from.amount < b.price.from.amount || (a.price.from.amount === b.price.from.amount && a.id < b.id)).toBe(true);
    }
  });

  it.each([
    ["price_desc", (i: ListItem) => i.price.from.amount],
    ["rating", (i: ListItem) => i.rating.average],
    ["popularity", (i: ListItem) => i.rating.count],
    ["newest", (i: ListItem) => i.published_year ?? -100000],
  ])("sorts by %s (descending, stable across pages)", async (sort, key) => {
    const items = await walk(`/v1/categories/science-fiction/products?sort=${sort}`, 7);
    expect(items.length).toBeGreaterThan(7);
    for (let i = 1; i < items.length; i++) expect(key(items[i - 1] as ListItem)).toBeGreaterThanOrEqual(key(items[i] as ListItem));
    expect(new Set(items.map((i) => i.id)).size).toBe(items.length);
  });

  it("filters by price range, format, language, stock and author", async () => {
    const priced = await walk("/v1/products?price_min=1000&price_max=1299");
    expect(priced.length).toBeGreaterThan(0);
    for (const i of priced) expect(i.price.from.amount).toBeGreaterThanOrEqual(1000);
    for (const i of priced) expect(i.price.from.amount).toBeLessThanOrEqual(1299);

    const ebooks = await walk("/v1/products?format=ebook&sort=price_asc");
    expect(ebooks.length).toBeGreaterThan(0);
    for (const i of ebooks) expect(i.formats).toContain("ebook");
    const either = await walk("/v1/products?format=ebook,hardcover");
    expect(either.length).toBeGreaterThan(ebooks.length);

    const french = await walk("/v1/products?language=fr");
    for (const i of french) expect(i.language).toBe("fr");

    const inStock = await walk("/v1/products?in_stock=true");
    const outOfStock = await walk("/v1/products?in_stock=false");
    for (const i of inStock) expect(i.in_stock).toBe(true);
    for (const i of outOfStock) expect(i.in_stock).toBe(false);
    const all = await walk("/v1/products");
    expect(inStock.length + outOfStock.length).toBe(all.length);

    const rowling = await walk("/v1/products?author=j-k-rowling");
    expect(rowling.length).toBeGreaterThanOrEqual(5);
    for (const i of rowling) expect(i.authors.map((a) => a.slug)).toContain("j-k-rowling");
  });

  it("rejects bad list input with precise codes", async () => {
    const cases: [string, string][] = [
      ["?limit=51", "PAGE_SIZE_TOO_LARGE"],
      ["?limit=0", "VALIDATION_FAILED"],
      ["?colour=red", "UNKNOWN_PARAMETER"],
      ["?cursor=!!!", "INVALID_CURSOR"],
      ["?cursor=bm90LWpzb24", "INVALID_CURSOR"],
      ["?sort=cheapest", "INVALID_SORT"],
      ["?price_min=-5", "INVALID_PRICE_RANGE"],
      ["?price_min=500&price_max=100", "INVALID_PRICE_RANGE"],
      ["?in_stock=maybe", "VALIDATION_FAILED"],
      ["?language=english", "VALIDATION_FAILED"],
    ];
    for (const [q, code] of cases) {
      const res = await call(`/v1/products${q}`);
      expect(res.status, q).toBe(400);
      const body = await json<ErrorBody>(res);
      expect(body.error.code, q).toBe(code);
      expect(body.error.request_id).toBeTruthy();
    }
    const page = await list("/v1/products?sort=price_asc&limit=2");
    const wrongSort = await call(`/v1/products?sort=rating&cursor=${page.page.next_cursor}`);
    expect(wrongSort.status).toBe(400);
    expect((await json<ErrorBody>(wrongSort)).error.code).toBe("INVALID_CURSOR");
    const unknownCategory = await call("/v1/categories/no-such-genre/products");
    expect(unknownCategory.status).toBe(404);
    expect((await json<ErrorBody>(unknownCategory)).error.code).toBe("CATEGORY_NOT_FOUND");
    const conflicting = await call("/v1/categories/fantasy/products?category=horror");
    expect(conflicting.status).toBe(400);
  });
});

describe("product detail and ISBN lookup", () => {
  it("returns a product with variants, prices in minor units and availability", async () => {
    const res = await call("/v1/products/the-hunger-games");
    expect(res.status).toBe(200);
    const { data } = await json<{ data: { name: string; isbn13: string; isbn10: string; authors: { name: string }[]; variants: ({ sku: string; price: { amount: number; currency: string }; availability: string; in_stock: boolean } & Record<string, unknown>)[] } }>(res);
    expect(data.name).toBe("The Hunger Games");
    expect(data.isbn13).toBe("9780439023481");
    expect(data.isbn10).toBe("0439023483");
    expect(data.authors[0]?.name).toBe("Suzanne Collins");
    expect(data.variants.length).toBeGreaterThanOrEqual(1);
    const rows = await sql<{ sku: string; price: number; level: string }>(
      "primary",
      `select v.sku, coalesce(v.price_override, p.base_price) as price,
              case when not v.track_inventory or v.backorder_allowed then 'in_stock'
                   when coalesce(i.on_hand - i.reserved, 0) <= 0 then 'out_of_stock'
                   when i.on_hand - i.reserved <= i.low_stock_threshold then 'low_stock' else 'in_stock' end as level
       from variants v join products p on p.id = v.product_id left join inventory i on i.variant_id = v.id
       where p.slug = 'the-hunger-games' order by v.position`,
    );
    expect(data.variants.map((v) => v.sku)).toEqual(rows.map((r) => r.sku));
    for (const [i, v] of data.variants.entries()) {
      const r = rows[i] as (typeof rows)[number];
      expect(v.price).toEqual({ amount: r.price, currency: "USD" });
      expect(v.availability).toBe(r.level);
      // Levels only: no count of any kind reaches an anonymous caller.
      expect(Object.keys(v)).not.toContain("available");
      expect(JSON.stringify(v)).not.toMatch(/on_hand|reserved|"available"/);
    }
  });

  it("answers unknown and malformed slugs with 404 and 400", async () => {
    const missing = await call("/v1/products/no-such-book-anywhere");
    expect(missing.status).toBe(404);
    expect((await json<ErrorBody>(missing)).error.code).toBe("PRODUCT_NOT_FOUND");
    const malformed = await call("/v1/products/Not%20A%20Slug");
    expect(malformed.status).toBe(400);
    expect((await json<ErrorBody>(malformed)).error.code).toBe("INVALID_SLUG");
  });

  it("finds a book by ISBN-13, ISBN-10 and hyphenated forms", async () => {
    for (const isbn of ["9780439023481", "978-0-439-02348-1", "0439023483", "0-439-02348-3"]) {
      const res = await call(`/v1/products/by-isbn/${isbn}`);
      expect(res.status, isbn).toBe(200);
      expect((await json<{ data: { slug: string } }>(res)).data.slug).toBe("the-hunger-games");
    }
  });

  it("rejects invalid ISBNs and 404s valid unknown ones", async () => {
    for (const isbn of ["9780439023482", "0439023484", "12345", "97804390234810", "abc"]) {
      const res = await call(`/v1/products/by-isbn/${isbn}`);
      expect(res.status, isbn).toBe(400);
      expect((await json<ErrorBody>(res)).error.code).toBe("INVALID_ISBN");
    }
    const unknown = await call("/v1/products/by-isbn/9780306406157");
    expect(unknown.status).toBe(404);
    expect((await json<ErrorBody>(unknown)).error.code).toBe("PRODUCT_NOT_FOUND");
  });
});

describe("HTTP caching", () => {
  it("gives anonymous GETs Cache-Control and an ETag, and answers If-None-Match with 304", async () => {
    const first = await call("/v1/products/twilight");
    expect(first.status).toBe(200);
    expect(first.headers.get("cache-control")).toMatch(/^public, max-age=\d+/);
    const etag = first.headers.get("etag");
    expect(etag).toBeTruthy();
    const second = await call("/v1/products/twilight", { headers: { "if-none-match": etag as string } });
    expect(second.status).toBe(304);
    expect(second.headers.get("etag")).toBe(etag);
    expect(second.headers.get("x-request-id")).toBeTruthy();
  });

  it("makes authenticated responses private", async () => {
    const res = await call("/v1/products/twilight", { headers: { authorization: "Bearer something" } });
    expect(res.headers.get("cache-control")).toBe("private, no-cache");
  });

  it("never caches errors", async () => {
    const res = await call("/v1/products/no-such-book-anywhere");
    expect(res.headers.get("cache-control")).toBe("no-store");
  });
});

describe("held-aware availability levels", () => {
  interface Detail {
    data: { variants: { sku: string; availability: string; in_stock: boolean }[] };
  }
  async function levelOf(slug: string, sku: string): Promise<string | undefined> {
    const res = await call(`/v1/products/${slug}`);
    expect(res.status).toBe(200);
    return (await json<Detail>(res)).data.variants.find((v) => v.sku === sku)?.availability;
  }
  async function eventually(slug: string, sku: string, want: string): Promise<void> {
    const deadline = Date.now() + 15_000;
    let got = await levelOf(slug, sku);
    while (got !== want && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 250));
      got = await levelOf(slug, sku);
    }
    expect(got).toBe(want);
  }

  it("counts units held by checkouts: in_stock → low_stock → out_of_stock → in_stock, anonymous callers see levels only", async () => {
    const [row] = await sql<{ sku: string; slug: string; on_hand: number; threshold: number }>(
      "primary",
      `select v.sku, p.slug, i.on_hand, i.low_stock_threshold as threshold
       from variants v join products p on p.id = v.product_id join inventory i on i.variant_id = v.id
       where p.status = 'active' and v.status = 'active' and v.track_inventory and not v.backorder_allowed
         and i.on_hand between i.low_stock_threshold + 3 and 60 and i.reserved = 0
       order by v.sku desc limit 1`,
    );
    if (!row) throw new Error("seed has no suitable variant");
    const { sku, slug, on_hand: onHand, threshold } = row;
    const stub = env.STOCK_DO.getByName(`sku:${sku}`);
    await eventually(slug, sku, "in_stock");

    // Holds leave exactly `threshold` free units: low stock, though Postgres on_hand has not changed.
    const held = onHand - threshold;
    expect((await stub.reserve(sku, "avail-a", held, 600)).ok).toBe(true);
    await eventually(slug, sku, "low_stock");
    expect((await stub.reserve(sku, "avail-b", threshold, 600)).ok).toBe(true);
    await eventually(slug, sku, "out_of_stock");
    const [pg] = await sql<{ on_hand: number; reserved: number }>("primary", "select on_hand, reserved from inventory where sku = $1", [sku]);
    expect(pg).toEqual({ on_hand: onHand, reserved: onHand });
    // No free unit left: search is told to re-index the product (its in-stock flag flipped).
    const [job] = await sql<{ n: string }>(
      "primary",
      "select count(*) as n from outbox where task_name = 'catalog.product.changed' and payload->>'reason' = 'stock.held' and payload->>'sku' = $1 and created_at > now() - interval '1 minute'",
      [sku],
    );
    expect(Number(job?.n)).toBeGreaterThanOrEqual(1);

    // Staff see the exact live counts.
    const staff = await call(`/v1/admin/inventory/${sku}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    expect(staff.status).toBe(200);
    expect((await json<{ data: { on_hand: number; held: number; available: number } }>(staff)).data).toMatchObject({ on_hand: onHand, held: onHand, available: 0 });

    await stub.release(sku, "avail-a");
    await stub.release(sku, "avail-b");
    await eventually(slug, sku, "in_stock");
  });

  it("list items carry the product's level next to in_stock", async () => {
    const page = await list("/v1/products?limit=50");
    for (const item of page.data as (ListItem & { availability: string })[]) {
      expect(["in_stock", "low_stock", "out_of_stock"]).toContain(item.availability);
      expect(item.in_stock).toBe(item.availability !== "out_of_stock");
    }
  });
});
