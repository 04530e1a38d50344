/**
 * Staff changes to the catalog. One transaction: the change, the product's derived columns and version, the
 * catalog version, the outbox event for search, and the audit row. After commit the new versions go to Redis so
 * cached pages older than the change stop being served at once. Services take a ServiceContext, the acting staff
 * member and plain inputs.
 */
import { sql } from "drizzle-orm";
import type { ServiceContext } from "../platform/service-context";
import { AppError } from "../platform/errors";
import { writeAudit, hashIp } from "../platform/audit";
import { enqueueOutbox, outboxEvent } from "../platform/outbox";
import { dispatchSoon } from "../platform/outbox-dispatch";
import { keys } from "./cache-keys";
import type { VariantPatch } from "./schemas";

type VariantState = {
  sku: string;
  product_id: number;
  slug: string;
  price_override: number | null;
  status: "active" | "inactive" | "discontinued";
};

export interface VariantUpdateResult {
  sku: string;
  product_slug: string;
  price_override: number | null;
  status: "active" | "inactive" | "discontinued";
  product_version: number;
  catalog_version: number;
}

/** Who made a staff change, for its audit row: the staff user (null for the interim staff token) and their client IP. */
export interface StaffActor {
  userId: string | null;
  ip: string | null;
}

/** Changes a variant's price override and/or status. */
export async function updateVariant(ctx: ServiceContext, actor: StaffActor, sku: string, patch: VariantPatch): Promise<VariantUpdateResult> {
  const ipHash = await hashIp(actor.ip, ctx.config.cookieSecret);
  const result = await ctx.db.write((db) =>
    db.transaction(async (tx) => {
      const found = await tx.execute<VariantState>(sql`
        select v.sku, v.product_id, p.slug, v.price_override, v.status
        from variants v join products p on p.id = v.product_id
        where v.sku = ${sku} for update of v, p`);
      const before = found.rows[0];
      if (!before) throw new AppError("VARIANT_NOT_FOUND", `No variant with SKU '${sku}'`, { sku });
      const priceOverride = patch.price_override === undefined ? before.price_override : patch.price_override;
      const status = patch.status ?? before.status;
      await tx.execute(sql`update variants set price_override = ${priceOverride}, status = ${status}, updated_at = now()
                           where sku = ${sku}`);
      const product = await tx.execute<{ version: string | number }>(sql`
        update products p set
          min_price = coalesce(d.min_price, p.base_price),
          max_price = coalesce(d.max_price, p.base_price),
          formats = coalesce(d.formats, '{}'::text[]),
          version = p.version + 1,
          updated_at = now()
        from (
          select min(coalesce(v.price_override, p2.base_price)) as min_price,
                 max(coalesce(v.price_override, p2.base_price)) as max_price,
                 array_agg(distinct v.attributes ->> 'format') filter (where v.attributes ? 'format') as formats
          from variants v join products p2 on p2.id = v.product_id
          where v.product_id = ${before.product_id} and v.status = 'active'
        ) d
        where p.id = ${before.product_id}
        returning p.version`);
      const catalog = await tx.execute<{ version: string | number }>(sql`
        update cache_versions set version = version + 1, updated_at = now() where scope = 'catalog' returning version`);
      const after = { sku, price_override: priceOverride, status };
      const outboxIds = await enqueueOutbox(tx, [
        outboxEvent("catalog.product.changed", { product_id: Number(before.product_id), slug: before.slug, reason: "variant.updated", sku }, ctx.traceId),
      ]);
      await writeAudit(tx, {
        actorId: actor.userId,
        actorRole: "staff",
        action: "variant.update",
        targetType: "variant",
        targetId: sku,
        requestId: ctx.requestId,
        ipHash,
        before: { sku, price_override: before.price_override, status: before.status },
        after,
      });
      return {
        sku,
        product_slug: before.slug,
        price_override: priceOverride,
        status,
        product_version: Number(product.rows[0]?.version ?? 0),
        catalog_version: Number(catalog.rows[0]?.version ?? 0),
        outboxIds,
      };
    }),
  );
  // The search index follows through the queue (the cron sweep re-sends if this dispatch is lost).
  dispatchSoon(ctx, result.outboxIds);
  // If Redis is down this fails open: cached entries then live at most their TTL (1-5 minutes).
  await ctx.cache.raiseVersions({
    [keys.catalogVersion]: result.catalog_version,
    [keys.productVersion(result.product_slug)]: result.product_version,
  });
  const { outboxIds: _sent, ...response } = result;
  return response;
}
