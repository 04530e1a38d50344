/**
 * Stock through the API: staff read a SKU's live stock and restock or correct it (the StockDO stays the only writer;
 * its ledger reaches Postgres through the inventory queue). A dev-only route times one StockDO for the bench.
 */
import { Hono } from "hono";
import { z } from "zod";
import type { AppEnv } from "../platform/context";
import { AppError } from "../platform/errors";
import { safeText, validate } from "../platform/validation";
import { requireStaff } from "../platform/staff-auth";
import { writeAudit } from "../platform/audit";
import { currentClaims } from "../accounts/middleware";

const skuParam = z.strictObject({ sku: z.string().regex(/^[A-Z0-9][A-Z0-9-]{1,63}$/, "must be a SKU") });
const adjustBody = z.strictObject({
  delta: z.number().int().min(-1_000_000).max(1_000_000).refine((d) => d !== 0, "must not be 0"),
  reason: z.enum(["restock", "adjustment", "correction", "return"]),
  note: safeText({ multiline: true }).trim().max(200).optional(),
});
const noStore = { "Cache-Control": "no-store" };
const stock = (env: Env, sku: string) => env.STOCK_DO.getByName(`sku:${sku}`);

async function known(c: { env: Env }, sku: string): Promise<void> {
  try {
    await stock(c.env, sku).snapshot(sku);
  } catch {
    throw new AppError(404, "VARIANT_NOT_FOUND", `No variant with SKU '${sku}'`, { sku });
  }
}

export const inventoryAdminRoutes = new Hono<AppEnv>()
  .use("/inventory/*", requireStaff())
  .get("/inventory/:sku", validate("param", skuParam), async (c) => {
    const { sku } = c.req.valid("param");
    await known(c, sku);
    return c.json({ data: await stock(c.env, sku).snapshot(sku) }, 200, noStore);
  })
  .post("/inventory/:sku/adjust", validate("param", skuParam), validate("json", adjustBody), async (c) => {
    const { sku } = c.req.valid("param");
    const body = c.req.valid("json");
    await known(c, sku);
    const ref = `staff:${c.get("requestId")}`;
    const result = await stock(c.env, sku).adjust(sku, body.delta, body.reason, ref);
    if (!result.ok) {
      throw result.reason === "below_held"
        ? new AppError(409, "STOCK_BELOW_HELD", "On-hand stock cannot go below the units held by checkouts", { held: result.held })
        : new AppError(400, "INVALID_DELTA", "delta must be a non-zero integer");
    }
    const claims = currentClaims(c.req.raw);
    await c.get("db").write((db) =>
      writeAudit(db, { actorId: claims?.sub ?? null, actorRole: claims?.role ?? "staff-token", action: "inventory.adjust", targetType: "sku", targetId: sku, requestId: c.get("requestId"), ipHash: null, after: { delta: body.delta, reason: body.reason, note: body.note ?? null, on_hand: result.onHand } }),
    );
    return c.json({ data: result }, 200, noStore);
  });

export const devStockRoutes = new Hono<AppEnv>().post(
  "/dev/stock/:sku/bench",
  validate("param", skuParam),
  validate("query", z.strictObject({ n: z.string().regex(/^\d{1,5}$/).transform(Number).pipe(z.number().int().min(1).max(20_000)).default(1000) })),
  async (c) => {
    const { sku } = c.req.valid("param");
    const { n } = c.req.valid("query");
    const s = stock(c.env, sku);
    await s.snapshot(sku);
    const run = crypto.randomUUID().slice(0, 8);
    const t0 = Date.now();
    // Sequential reserve/release pairs from one caller: the object's own serial throughput.
    for (let i = 0; i < n; i++) {
      const r = await s.reserve(sku, `bench-${run}-${i}`, 1, 60);
      if (r.ok) await s.release(sku, `bench-${run}-${i}`);
    }
    const ms = Date.now() - t0;
    return c.json({ data: { sku, pairs: n, ms, ops_per_second: Math.round((2 * n) / (ms / 1000)) } }, 200, noStore);
  },
);
