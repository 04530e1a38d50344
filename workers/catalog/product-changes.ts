/**
 * How another domain tells catalog that a product changed underneath it (its stock moved, its held units crossed
 * zero free): catalog bumps the product's version (caches compare it) and, when asked, queues the search reindex,
 * in the caller's transaction; after commit the caller publishes the new versions so cached pages older than the
 * change stop being served at once.
 */
import { sql } from "drizzle-orm";
import type { Cache } from "../platform/cache";
import type { Database } from "../platform/db";
import { enqueueOutbox, outboxEvent } from "../platform/outbox";
import type { TaskInput } from "../platform/tasks";
import { keys } from "./cache-keys";

/** A product whose version was bumped. */
export interface ChangedProduct {
  productId: number;
  slug: string;
  version: number;
}

export interface ProductsChanged {
  products: ChangedProduct[];
  /** The search reindex jobs queued (dispatch them after commit). */
  outboxIds: string[];
}

export interface ProductChange {
  /** The variants that changed; their products are the ones marked. */
  variantIds: readonly number[];
  /** Why (`stock.changed`, `stock.held` …): carried to search for its logs. */
  reason: NonNullable<TaskInput<"catalog.product.changed">["reason"]>;
  /** Whether search must re-read the products (false when nothing it indexes changed). */
  reindex: boolean;
  /** The SKU that changed, when there is one, for search's logs. */
  sku?: string;
  traceId: string | null;
}

/** Bumps the version of the products of `change.variantIds` and queues their reindex, in the caller's transaction. */
export async function markProductsChanged(tx: Pick<Database, "execute">, change: ProductChange): Promise<ProductsChanged> {
  if (change.variantIds.length === 0) return { products: [], outboxIds: [] };
  const ids = change.variantIds.map((id) => Number(id));
  const updated = await tx.execute<{ product_id: string | number; slug: string; version: string | number }>(sql`
    update products p set version = p.version + 1, updated_at = now()
    where p.id in (select v.product_id from variants v where v.id in (${sql.join(ids.map((id) => sql`${id}`), sql`, `)}))
    returning p.id as product_id, p.slug, p.version`);
  const products = updated.rows.map((r) => ({ productId: Number(r.product_id), slug: r.slug, version: Number(r.version) }));
  const outboxIds = change.reindex
    ? await enqueueOutbox(
        tx,
        products.map((p) =>
          outboxEvent("catalog.product.changed", { product_id: p.productId, slug: p.slug, reason: change.reason, ...(change.sku ? { sku: change.sku } : {}) }, change.traceId),
        ),
      )
    : [];
  return { products, outboxIds };
}

/**
 * Publishes committed product versions to the cache (call after the transaction of markProductsChanged). Fails
 * open like every version raise: if Redis is down, cached entries live at most their TTL.
 */
export async function publishProductVersions(cache: Cache, products: readonly ChangedProduct[]): Promise<void> {
  if (products.length === 0) return;
  await cache.raiseVersions(Object.fromEntries(products.map((p) => [keys.productVersion(p.slug), p.version])));
}
