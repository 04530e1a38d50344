/**
 * Stock through the API: staff read a SKU's live stock and restock or correct it (the StockDO stays the only writer;
 * its ledger reaches Postgres through the inventory queue, and an adjustment's audit row with it). Adjustments are
 * idempotent by Idempotency-Key. A dev-only route times one StockDO for the bench.
 */
import { z } from "zod";
import type { ErrorCode } from "../platform/error-codes";
import { queryInt } from "../platform/validation";
import { requireStaff } from "../platform/staff-auth";
import { callStock } from "../platform/do-access";
import { currentPrincipal } from "../platform/principal";
import { serviceContext } from "../platform/service-context";
import { apiRoute, apiRouter, ok } from "../platform/openapi";
import type { SecurityRequirement } from "../platform/openapi";
import { adjustStock, readStock } from "./service";
import { stockAdjustmentSchema, stockBenchSchema, stockSnapshotSchema } from "./response-schemas";

const skuParam = z.strictObject({ sku: z.string().regex(/^[A-Z0-9][A-Z0-9-]{1,63}$/, "must be a SKU").meta({ example: "BK00007-PB" }) });
// C0/C1 controls (NUL included) and lone surrogates are refused: Postgres cannot store some, no person types them.
const plainText = (s: string) => !/[\p{Cc}\p{Cs}]/u.test(s);
const adjustBody = z.strictObject({
  delta: z.number().int().min(-1_000_000).max(1_000_000).refine((d) => d !== 0, "must not be 0").meta({ description: "Units to add (negative: remove); never 0." }),
  reason: z.enum(["restock", "adjustment", "correction", "return"]),
  note: z.string().max(200).refine(plainText, "must not contain control characters").transform((s) => s.trim()).optional(),
});
/** Not strict: the other request headers pass through untouched. */
const idempotencyHeaders = z.object({
  "idempotency-key": z
    .string({ error: "send an Idempotency-Key header with every adjustment" })
    .regex(/^[A-Za-z0-9_:.-]{8,100}$/, "must be 8-100 characters of A-Z a-z 0-9 _ : . -")
    .meta({ description: "The adjustment applies once per key (remembered 24 h per SKU); a repeat with the same body replays the first answer." }),
});
const benchQuery = z.strictObject({ n: queryInt({ min: 1, max: 20_000, default: 1000, description: "Reserve/release pairs to run." }) });
const noStore = { "Cache-Control": "no-store" };
const STAFF: SecurityRequirement[] = [{ staffAuth: [] }];
const STAFF_ERRORS = ["UNAUTHORIZED", "FORBIDDEN"] as const satisfies readonly ErrorCode[];
/** The SKU's StockDO did not answer (or is overloaded). */
const STOCK_ERRORS = ["DURABLE_OBJECT_UNAVAILABLE", "DURABLE_OBJECT_OVERLOADED"] as const satisfies readonly ErrorCode[];

const read = apiRoute({
  method: "get",
  path: "/inventory/{sku}",
  tags: ["admin-inventory"],
  summary: "A SKU's exact live stock (on hand, held, available)",
  middleware: [requireStaff()],
  security: STAFF,
  request: { params: skuParam },
  responses: { 200: ok(stockSnapshotSchema, "The StockDO's counts right now.", { headers: ["Cache-Control"] }) },
  errors: [...STAFF_ERRORS, "VARIANT_NOT_FOUND", ...STOCK_ERRORS],
});

const adjust = apiRoute({
  method: "post",
  path: "/inventory/{sku}/adjust",
  tags: ["admin-inventory"],
  summary: "Restock or correct a SKU (idempotent by Idempotency-Key, audited)",
  description: "On hand never goes below what checkouts hold (409 STOCK_BELOW_HELD). The same key with another body is 422 IDEMPOTENCY_KEY_REUSED.",
  middleware: [requireStaff()],
  security: STAFF,
  request: { params: skuParam, headers: idempotencyHeaders, body: { required: true, content: { "application/json": { schema: adjustBody } } } },
  responses: {
    200: ok(stockAdjustmentSchema, "Applied, or a replay of the first answer to this key (`Idempotent-Replayed: true`).", {
      headers: ["Cache-Control", "Idempotent-Replayed"],
    }),
  },
  errors: [...STAFF_ERRORS, "VARIANT_NOT_FOUND", "STOCK_BELOW_HELD", "IDEMPOTENCY_KEY_REUSED", "INVALID_DELTA", "INVALID_NOTE", ...STOCK_ERRORS],
  fieldCodes: {
    json: { note: "INVALID_NOTE", delta: "INVALID_DELTA", reason: "INVALID_REASON" },
    header: { "idempotency-key": "IDEMPOTENCY_KEY_REQUIRED" },
  },
});

export const inventoryAdminRoutes = apiRouter()
  .openapi(read, async (c) => c.json({ data: await readStock(serviceContext(c), c.req.valid("param").sku) }, 200, noStore))
  .openapi(adjust, async (c) => {
    const { sku } = c.req.valid("param");
    const body = c.req.valid("json");
    const principal = currentPrincipal(c);
    const input = {
      delta: body.delta,
      reason: body.reason,
      idempotencyKey: c.req.valid("header")["idempotency-key"],
      actor: { id: principal?.userId ?? null, role: principal?.role ?? "staff-token" },
      note: body.note === undefined || body.note === "" ? null : body.note,
      requestId: c.get("requestId"),
    };
    const { data, replayed } = await adjustStock(serviceContext(c), sku, input);
    return replayed ? c.json({ data }, 200, { ...noStore, "Idempotent-Replayed": "true" as const }) : c.json({ data }, 200, noStore);
  });

const bench = apiRoute({
  method: "post",
  path: "/dev/stock/{sku}/bench",
  tags: ["dev"],
  summary: "Time one StockDO: n sequential reserve/release pairs from one caller",
  description: "Development and test only (the bench's probe of one object's serial throughput).",
  request: { params: skuParam, query: benchQuery },
  responses: { 200: ok(stockBenchSchema, "The timing.", { headers: ["Cache-Control"] }) },
  errors: ["VARIANT_NOT_FOUND", ...STOCK_ERRORS],
});

export const devStockRoutes = apiRouter().openapi(bench, async (c) => {
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
  // At least 1 ms: a clock that did not move must not answer Infinity (which JSON sends as null).
  return c.json({ data: { sku, pairs: n, ms, ops_per_second: Math.round((2 * n) / (Math.max(ms, 1) / 1000)) } }, 200, noStore);
});
