/**
 * Stock through the API: staff read a SKU's live stock and restock or correct it (the StockDO stays the only writer;
 * its ledger reaches Postgres through the inventory queue, and an adjustment's audit row with it). Adjustments are
 * idempotent by Idempotency-Key. A dev-only route times one StockDO for the bench.
 */
import { Hono } from "hono";
import { z } from "zod";
import type { AppEnv } from "../platform/context";
import { AppError } from "../platform/errors";
import { validate } from "../platform/validation";
import { requireStaff } from "../platform/staff-auth";
import { callStock } from "../platform/do-access";
import { currentPrincipal } from "../platform/principal";
import { serviceContext } from "../platform/service-context";
import { adjustStock, readStock } from "./service";

const skuParam = z.strictObject({ sku: z.string().regex(/^[A-Z0-9][A-Z0-9-]{1,63}$/, "must be a SKU") });
// C0/C1 controls (NUL included) and lone surrogates are refused: Postgres cannot store some, no person types them.
const plainText = (s: string) => !/[\p{Cc}\p{Cs}]/u.test(s);
const adjustBody = z.strictObject({
  delta: z.number().int().min(-1_000_000).max(1_000_000).refine((d) => d !== 0, "must not be 0"),
  reason: z.enum(["restock", "adjustment", "correction", "return"]),
  note: z.string().max(200).refine(plainText, "must not contain control characters").transform((s) => s.trim()).optional(),
});
const idempotencyKey = z.string().regex(/^[A-Za-z0-9_:.-]{8,100}$/);
const noStore = { "Cache-Control": "no-store" };

export const inventoryAdminRoutes = new Hono<AppEnv>()
  .use("/inventory/*", requireStaff())
  .get("/inventory/:sku", validate("param", skuParam), async (c) => {
    const { sku } = c.req.valid("param");
    return c.json({ data: await readStock(serviceContext(c), sku) }, 200, noStore);
  })
  .post("/inventory/:sku/adjust", validate("param", skuParam), validate("json", adjustBody, { note: "INVALID_NOTE", delta: "INVALID_DELTA", reason: "INVALID_REASON" }), async (c) => {
    const { sku } = c.req.valid("param");
    const body = c.req.valid("json");
    const key = idempotencyKey.safeParse(c.req.header("idempotency-key"));
    if (!key.success) throw new AppError("IDEMPOTENCY_KEY_REQUIRED", "Send an Idempotency-Key header (8-100 characters: letters, digits, _ : . -) with every adjustment");
    const principal = currentPrincipal(c);
    const input = {
      delta: body.delta,
      reason: body.reason,
      idempotencyKey: key.data,
      actor: { id: principal?.userId ?? null, role: principal?.role ?? "staff-token" },
      note: body.note === undefined || body.note === "" ? null : body.note,
      requestId: c.get("requestId"),
    };
    const { data, replayed } = await adjustStock(serviceContext(c), sku, input);
    return c.json({ data }, 200, { ...noStore, ...(replayed ? { "Idempotent-Replayed": "true" } : {}) });
  });

export const devStockRoutes = new Hono<AppEnv>().post(
  "/dev/stock/:sku/bench",
  validate("param", skuParam),
  validate("query", z.strictObject({ n: z.string().regex(/^\d{1,5}$/).transform(Number).pipe(z.number().int().min(1).max(20_000)).default(1000) })),
  async (c) => {
    const { sku } = c.req.valid("param");
    const { n } = c.req.valid("query");
    // Not retried: a retry would restart the timed loop.
    const opts = { idempotent: false, label: "stock.bench" };
    await readStock(serviceContext(c), sku);
    const run = crypto.randomUUID().slice(0, 8);
    const t0 = Date.now();
    // Sequential reserve/release pairs from one caller: the object's own serial throughput.
    await callStock(c.env, sku, async (s) => {
      for (let i = 0; i < n; i++) {
        const r = await s.reserve(sku, `bench-${run}-${i}`, 1, 60);
        if (r.ok) await s.release(sku, `bench-${run}-${i}`);
      }
    }, opts);
    const ms = Date.now() - t0;
    return c.json({ data: { sku, pairs: n, ms, ops_per_second: Math.round((2 * n) / (ms / 1000)) } }, 200, noStore);
  },
);
