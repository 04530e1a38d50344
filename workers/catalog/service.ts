/** Catalog reads: category tree, product pages, product detail and ISBN lookup, through the cached read path. */
import type { Context } from "hono";
import type { AppEnv } from "../platform/context";
import { AppError } from "../platform/errors";
import { cachedJson, cachedJsonEntry } from "../platform/cached-read";
import type { CachedJsonSpec } from "../platform/cached-read";
import { keys, TTL } from "./cache-keys";
import { decodeCursor, encodeCursor } from "./cursor";
import { toIsbn13, isbn13To10 } from "./isbn";
import { availabilityLevel } from "./availability";
import { loadCategories, loadCategoryId, loadProductDetail, loadProductPage } from "./queries";
import type { Reader } from "../platform/db";
import type { CategoryRow, DetailRow, ProductPageRows } from "./queries";
import type { ListQuery } from "./schemas";

export interface CategoryNode {
  slug: string;
  name: string;
  path: string;
  product_count: number;
  children: CategoryNode[];
}

function buildTree(rows: CategoryRow[]): CategoryNode[] {
  const nodes = new Map<number, CategoryNode>();
  const roots: CategoryNode[] = [];
  for (const r of rows) nodes.set(r.id, { slug: r.slug, name: r.name, path: r.path, product_count: r.product_count, children: [] });
  // Rows come ordered by depth, so a parent is always created before its children.
  for (const r of rows) {
    const node = nodes.get(r.id) as CategoryNode;
    const parent = r.parent_id === null ? undefined : nodes.get(r.parent_id);
    (parent ? parent.children : roots).push(node);
  }
  return roots;
}

/** The category tree (cached under `category_tree`). */
export async function categoryTreeResponse(c: Context<AppEnv>): Promise<Response> {
  const res = await cachedJson(c, categoryTreeSpec);
  return res ?? c.json({ data: [] });
}

const categoryTreeSpec: CachedJsonSpec<CategoryNode[]> = {
  key: keys.categoryTree,
  versionKey: keys.catalogVersion,
  ttlSeconds: TTL.categoryTree,
  load: async (db) => {
    const { version, data } = await loadCategories(db);
    return { version, data: buildTree(data) };
  },
  render: (tree) => JSON.stringify({ data: tree }),
};

const money = (amount: number, currency: string) => ({ amount, currency });

/**
 * The `{page}` part of a list key: every parameter that shapes the page, in a fixed order. Plain text rather than
 * a hash: validated values are short and URL-safe, and a readable key helps when inspecting Redis.
 */
function pageKey(q: ListQuery): string {
  return [
    q.sort,
    q.limit,
    q.cursor ?? "",
    q.price_min ?? "",
    q.price_max ?? "",
    [...q.format].sort().join("+"),
    [...q.language].sort().join("+"),
    q.in_stock ?? "",
    q.author ?? "",
  ].join(":");
}

/** Category slug → id per isolate: ids never change for a slug in practice, and a miss costs one tiny query. */
const categoryIds = new Map<string, { id: number; until: number }>();
const CATEGORY_MEMO_MS = 300_000;

async function categoryIdFor(db: Reader, slug: string): Promise<number | null> {
  const memo = categoryIds.get(slug);
  if (memo && memo.until > Date.now()) return memo.id;
  const id = await loadCategoryId(db, slug);
  if (id === null) categoryIds.delete(slug);
  else categoryIds.set(slug, { id, until: Date.now() + CATEGORY_MEMO_MS });
  return id;
}

/** One page of products, optionally within a category (descendants included). */
export async function productListResponse(c: Context<AppEnv>, q: ListQuery): Promise<Response> {
  const after = q.cursor === undefined ? null : decodeCursor(q.cursor, q.sort);
  const categoryKey = q.category ?? "all";
  let missingCategory = false;
  const res = await cachedJson<ProductPageRows>(c, {
    key: keys.productList(categoryKey, pageKey(q)),
    versionKey: keys.catalogVersion,
    ttlSeconds: TTL.productList,
    load: async (db) => {
      const categoryId = q.category === undefined ? null : await categoryIdFor(db, q.category);
      if (q.category !== undefined && categoryId === null) {
        missingCategory = true;
        return { version: 0, data: null };
      }
      const page = await loadProductPage(db, q, categoryId, after);
      return { version: page.version, data: page };
    },
    // Postgres renders the items as JSON text; only the page envelope is built here.
    render: (page) => {
      const next = page.hasMore && page.last ? encodeCursor({ sort: q.sort, value: page.last.value, id: page.last.id }) : null;
      const meta = { limit: q.limit, next_cursor: next, has_more: page.hasMore, sort: q.sort };
      return `{"data":${page.itemsJson},"page":${JSON.stringify(meta)}}`;
    },
  });
  if (!res || missingCategory) {
    throw new AppError("CATEGORY_NOT_FOUND", `Category '${q.category ?? ""}' does not exist`, { category: q.category });
  }
  return res;
}

function shapeDetail(r: DetailRow) {
  const isbn13 = r.gtin && /^97[89]\d{10}$/.test(r.gtin) ? r.gtin : null;
  return {
    id: Number(r.id),
    slug: r.slug,
    name: r.name,
    subtitle: r.subtitle,
    description: r.description,
    isbn13,
    isbn10: isbn13 ? isbn13To10(isbn13) : null,
    gtin: r.gtin,
    language: r.language,
    published_year: r.published_year,
    authors: r.authors ?? [],
    brand: r.brand,
    category: r.category,
    categories: r.categories ?? [],
    images: r.images,
    attributes: r.attributes,
    price: { from: money(r.min_price, r.currency), to: money(r.max_price, r.currency) },
    rating: { average: Number(r.rating_avg), count: r.ratings_count },
    featured: r.featured,
    variants: (r.variants ?? []).map((v) => {
      const availability = availabilityLevel({
        active: v.status === "active",
        trackInventory: v.track_inventory,
        backorderAllowed: v.backorder_allowed,
        onHand: v.on_hand,
        reserved: v.reserved,
        lowStockThreshold: v.low_stock_threshold,
      });
      return {
        sku: v.sku,
        name: v.name,
        attributes: v.attributes,
        price: money(v.price, r.currency),
        status: v.status,
        // A level, not a count: exact stock is for staff (GET /v1/admin/inventory/:sku).
        availability,
        in_stock: availability !== "out_of_stock",
        backorder: v.backorder_allowed,
      };
    }),
    version: Number(r.version),
    updated_at: r.updated_at,
  };
}
export type ProductDetail = ReturnType<typeof shapeDetail>;

/** A product by slug, with variants and availability; 404 PRODUCT_NOT_FOUND when there is none. */
export async function productResponse(c: Context<AppEnv>, slug: string): Promise<Response> {
  const res = await productResponseOrNull(c, slug);
  if (!res) throw new AppError("PRODUCT_NOT_FOUND", `No product with slug '${slug}'`, { slug });
  return res;
}

function productResponseOrNull(c: Context<AppEnv>, slug: string): Promise<Response | null> {
  return cachedJson<ProductDetail>(c, productSpec(slug));
}

function productSpec(slug: string): CachedJsonSpec<ProductDetail> {
  return {
    key: keys.productDetail(slug),
    versionKey: keys.productVersion(slug),
    ttlSeconds: TTL.productDetail,
    load: async (db) => {
      const row = await loadProductDetail(db, { slug });
      return row ? { version: Number(row.version), data: shapeDetail(row) } : { version: 0, data: null };
    },
    render: (detail) => JSON.stringify({ data: detail }),
  };
}

/**
 * ISBN-13 → slug, per isolate. The mapping changes only when staff reassign a GTIN, which must delete
 * `isbn:<isbn13>` in Redis; the isolate copy is bounded and short-lived.
 */
const isbnSlugs = new Map<string, { slug: string; until: number }>();
const ISBN_MEMO_MAX = 20_000;
const ISBN_MEMO_MS = 60_000;

/** A product by ISBN-10 or ISBN-13 (hyphens allowed): INVALID_ISBN when malformed, 404 when unknown. */
export async function productByIsbnResponse(c: Context<AppEnv>, raw: string): Promise<Response> {
  const isbn13 = toIsbn13(raw);
  if (!isbn13) {
    throw new AppError("INVALID_ISBN", "Not a valid ISBN-10 or ISBN-13 (check digit or length)", { isbn: raw });
  }
  const cache = c.get("cache");
  const ryw = c.get("readYourWrites");
  if (!ryw) {
    const memo = isbnSlugs.get(isbn13);
    const slug = memo && memo.until > Date.now() ? memo.slug : await cache.get(keys.isbn(isbn13));
    if (slug) {
      const res = await productResponseOrNull(c, slug);
      if (res) {
        if (!memo) rememberIsbn(isbn13, slug);
        return res;
      }
      isbnSlugs.delete(isbn13);
    }
  }
  const { value, source } = await c.get("db").read((db) => loadProductDetail(db, { gtin: isbn13 }), { primary: ryw });
  c.set("servedBy", source);
  if (!value) throw new AppError("PRODUCT_NOT_FOUND", `No product with ISBN ${isbn13}`, { isbn13 });
  rememberIsbn(isbn13, value.slug);
  c.executionCtx.waitUntil(cache.set(keys.isbn(isbn13), value.slug, TTL.isbn));
  return c.json({ data: shapeDetail(value) });
}

function rememberIsbn(isbn13: string, slug: string): void {
  if (isbnSlugs.size >= ISBN_MEMO_MAX) isbnSlugs.clear();
  isbnSlugs.set(isbn13, { slug, until: Date.now() + ISBN_MEMO_MS });
}

/**
 * A product as data, for server-rendered pages (the storefront): the body GET /v1/products/{slug} answers, through
 * the same cache; null when there is no such product.
 */
export async function productDetail(c: Context<AppEnv>, slug: string): Promise<ProductDetail | null> {
  const entry = await cachedJsonEntry(c, productSpec(slug));
  return entry ? (JSON.parse(entry.body) as { data: ProductDetail }).data : null;
}

/** The category tree as data, for server-rendered pages: the body of GET /v1/categories, through the same cache. */
export async function categoryTree(c: Context<AppEnv>): Promise<CategoryNode[]> {
  const entry = await cachedJsonEntry(c, categoryTreeSpec);
  return entry ? (JSON.parse(entry.body) as { data: CategoryNode[] }).data : [];
}
