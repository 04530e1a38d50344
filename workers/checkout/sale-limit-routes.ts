/**
 * Staff set a SKU's "max per customer" for a sale (PATCH /v1/admin/variants/:sku/sale-limit). The StockDO keeps the number and
 * enforces it at reserve, counting the customer's active holds and units already sold; the cart meets it at
 * add-to-cart. Every change is audited with its before and after.
 */
import { Hono } from "hono";
import { z } from "zod";
import type { AppEnv } from "../platform/context";
import { AppError } from "../platform/errors";
import { validate } from "../platform/validation";
import { requireStaff } from "../platform/staff-auth";
import { writeAudit } from "../platform/audit";
import { currentClaims } from "../accounts";

const skuParam = z.strictObject({ sku: z.string().regex(/^[A-Z0-9][A-Z0-9-]{1,63}$/, "must be a SKU") });
const body = z.strictObject({ max_per_customer: z.number().int("must be a whole number").min(1, "must be at least 1").max(1000, "must be at most 1000").nullable() });

export const saleLimitRoutes = new Hono<AppEnv>().use("/variants/*", requireStaff()).patch(
  "/variants/:sku/sale-limit",
  validate("param", skuParam),
  validate("json", body, { max_per_customer: "INVALID_QUANTITY" }),
  async (c) => {
    const { sku } = c.req.valid("param");
    const { max_per_customer: max } = c.req.valid("json");
    const stock = c.env.STOCK_DO.getByName(`sku:${sku}`);
    let before: number | null;
    try {
      before = (await stock.snapshot(sku)).maxPerCustomer;
    } catch {
      throw new AppError("VARIANT_NOT_FOUND", `No variant with SKU '${sku}'`, { sku });
    }
    const result = await stock.setMaxPerCustomer(sku, max);
    if (!result.ok) throw new AppError("INVALID_QUANTITY", "max_per_customer must be 1 to 1000 or null");
    const claims = currentClaims(c.req.raw);
    await c.get("db").write((db) =>
      writeAudit(db, {
        actorId: claims?.sub ?? null,
        actorRole: claims?.role ?? "staff-token",
        action: "variant.max_per_customer",
        targetType: "sku",
        targetId: sku,
        requestId: c.get("requestId"),
        ipHash: null,
        before: { max_per_customer: before },
        after: { max_per_customer: max },
      }),
    );
    return c.json({ data: { sku, max_per_customer: max } }, 200, { "Cache-Control": "no-store" });
  },
);
