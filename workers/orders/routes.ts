/** Order routes: the customer's list/detail/cancel, staff fulfilment and refunds, and the dev payment simulator. */
import { Hono } from "hono";
import type { Context } from "hono";
import { z } from "zod";
import type { AppEnv } from "../platform/context";
import { AppError } from "../platform/errors";
import { safeText, validate } from "../platform/validation";
import { requireStaff } from "../platform/staff-auth";
import { currentPrincipal } from "../platform/principal";
import { serviceContext } from "../platform/service-context";
import { hashIp } from "../platform/audit";
import { clientIpOrNull } from "../platform/client-ip";
import { requireAuth } from "../accounts";
import type { OrderViewer, StaffActor } from "./service";
import { cancelOrder, listOrders, orderDetail, simulatePayment, staffRefund, staffTransition } from "./service";

/** A guest reads their order with the signed token the checkout answered with, sent in this header. */
export const ORDER_TOKEN_HEADER = "x-order-token";

const noStore = { "Cache-Control": "no-store" };
const idParam = z.strictObject({ id: z.uuid("must be an order id") });
const listQuery = z.strictObject({
  limit: z.string().regex(/^\d+$/).transform(Number).pipe(z.number().int().min(1).max(50)).default(20),
  cursor: z.string().regex(/^\d{1,12}$/, "must be a cursor from next_cursor").transform(Number).optional(),
});

function viewerOf(c: Context<AppEnv>): OrderViewer {
  return { userId: c.get("userId"), orderToken: c.req.header(ORDER_TOKEN_HEADER) ?? null };
}

async function staffActorOf(c: Context<AppEnv>): Promise<StaffActor> {
  const p = currentPrincipal(c);
  return { actorId: p?.userId ?? null, role: p?.role ?? "staff-token", ipHash: await hashIp(clientIpOrNull(c), c.get("config").cookieSecret) };
}

export const orderRoutes = new Hono<AppEnv>()
  .get("/orders", requireAuth(), validate("query", listQuery, { limit: "INVALID_LIMIT" }), async (c) => {
    const q = c.req.valid("query");
    return c.json(await listOrders(serviceContext(c), c.get("userId"), q.limit, q.cursor ?? null), 200, noStore);
  })
  .get("/orders/:id", validate("param", idParam, { id: "ORDER_NOT_FOUND" }), async (c) =>
    c.json({ data: await orderDetail(serviceContext(c), viewerOf(c), c.req.valid("param").id) }, 200, noStore),
  )
  .post("/orders/:id/cancel", validate("param", idParam, { id: "ORDER_NOT_FOUND" }), async (c) =>
    c.json({ data: await cancelOrder(serviceContext(c), viewerOf(c), c.req.valid("param").id) }, 200, noStore),
  );

export const orderAdminRoutes = new Hono<AppEnv>()
  .use(requireStaff())
  .post(
    "/orders/:id/status",
    validate("param", idParam),
    validate("json", z.strictObject({ status: z.enum(["fulfilled", "shipped", "delivered"]), note: safeText({ multiline: true }).trim().max(500).optional() })),
    async (c) => {
      const body = c.req.valid("json");
      return c.json({ data: await staffTransition(serviceContext(c), await staffActorOf(c), c.req.valid("param").id, body.status, body.note ?? null) }, 200, noStore);
    },
  )
  .post("/orders/:id/refund", validate("param", idParam), validate("json", z.strictObject({ amount: z.number().int().min(1).max(100_000_000).optional() })), async (c) => {
    const key = c.req.header("idempotency-key");
    if (!key || !/^[A-Za-z0-9_:.-]{8,100}$/.test(key)) throw new AppError("IDEMPOTENCY_KEY_REQUIRED", "Send an Idempotency-Key header with every refund");
    return c.json({ data: await staffRefund(serviceContext(c), await staffActorOf(c), c.req.valid("param").id, c.req.valid("json").amount, key) }, 200, noStore);
  });

export const devPaymentRoutes = new Hono<AppEnv>().post(
  "/dev/orders/:id/simulate-payment",
  validate("param", idParam),
  validate("json", z.strictObject({ outcome: z.enum(["succeeded", "declined"]).default("succeeded") })),
  async (c) => c.json({ data: await simulatePayment(serviceContext(c), viewerOf(c), c.req.valid("param").id, c.req.valid("json").outcome) }, 200, noStore),
);
