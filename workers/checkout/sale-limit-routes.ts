/**
 * Staff set a SKU's "max per customer" for a sale (PATCH /v1/admin/variants/{sku}/sale-limit). The StockDO keeps the number and
 * enforces it at reserve, counting the customer's active holds and units already sold; the cart meets it at
 * add-to-cart. Every change is audited with its before and after.
 */
import { z } from "zod";
import { AppError } from "../platform/errors";
import { apiRoute, apiRouter, ok } from "../platform/openapi";
import { requireStaff } from "../platform/staff-auth";
import { callStock } from "../platform/do-access";
import { writeAudit } from "../platform/audit";
import { currentClaims } from "../accounts";
import { saleLimitSchema } from "./response-schemas";

const skuParam = z.strictObject({ sku: z.string().regex(/^[A-Z0-9][A-Z0-9-]{1,63}$/, "must be a SKU") });
const body = z.strictObject({
  max_per_customer: z
    .number()
    .int("must be a whole number")
    .min(1, "must be at least 1")
    .max(1000, "must be at most 1000")
    .nullable()
    .meta({ description: "The new limit, or null to remove it." }),
});

const saleLimit = apiRoute({
  method: "patch",
  path: "/variants/{sku}/sale-limit",
  tags: ["admin-catalog"],
  summary: "Set or remove a SKU's max per customer for a sale (audited)",
  description: "Existing holds stay; new holds, and add-to-cart, meet the limit. Units the customer already bought count against it.",
  middleware: [requireStaff()],
  request: { params: skuParam, body: { required: true, content: { "application/json": { schema: body } } } },
  responses: { 200: ok(saleLimitSchema, "The SKU's limit after the change.", { headers: ["Cache-Control"] }) },
  errors: ["VARIANT_NOT_FOUND", "DURABLE_OBJECT_UNAVAILABLE", "DURABLE_OBJECT_OVERLOADED", "DATABASE_UNAVAILABLE"],
  fieldCodes: { json: { max_per_customer: "INVALID_QUANTITY" } },
});

export const saleLimitRoutes = apiRouter().openapi(saleLimit, async (c) => {
  const { sku } = c.req.valid("param");
  const { max_per_customer: max } = c.req.valid("json");
  // `find` is null only for a SKU that does not exist; a StockDO that cannot load (Postgres down) is a 503.
  const snapshot = await callStock(c.env, sku, (s) => s.find(sku), { idempotent: true, label: "stock.find" });
  if (!snapshot) throw new AppError("VARIANT_NOT_FOUND", `No variant with SKU '${sku}'`, { sku });
  // Setting a value is idempotent: a retry after a lost reply sets the same value.
  const result = await callStock(c.env, sku, (s) => s.setMaxPerCustomer(sku, max), { idempotent: true, label: "stock.setMaxPerCustomer" });
  // The schema already bounds the value; the StockDO checks it again.
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
      before: { max_per_customer: snapshot.maxPerCustomer },
      after: { max_per_customer: max },
    }),
  );
  return c.json({ data: { sku, max_per_customer: max } }, 200, { "Cache-Control": "no-store" });
});
