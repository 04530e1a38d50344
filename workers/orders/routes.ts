/** Order routes: the customer's list/detail/cancel, staff fulfilment and refunds, and the dev payment simulator. */
import type { Context } from "hono";
import { z } from "zod";
import type { AppEnv } from "../platform/context";
import type { ErrorCode } from "../platform/error-codes";
import { queryInt, safeText } from "../platform/validation";
import { requireStaff } from "../platform/staff-auth";
import { currentPrincipal } from "../platform/principal";
import { serviceContext } from "../platform/service-context";
import { hashIp } from "../platform/audit";
import { clientIpOrNull } from "../platform/client-ip";
import { apiRoute, apiRouter, cursorPage, ok } from "../platform/openapi";
import type { SecurityRequirement } from "../platform/openapi";
import { requireAuth } from "../accounts";
import type { OrderViewer, StaffActor } from "./service";
import { cancelOrder, listOrders, orderDetail, simulatePayment, staffRefund, staffTransition } from "./service";
import { orderDetailSchema, orderExample, orderSummarySchema, refundSchema, simulatedPaymentSchema } from "./response-schemas";

/** A guest reads their order with the signed token the checkout answered with, sent in this header. */
export const ORDER_TOKEN_HEADER = "x-order-token";

const noStore = { "Cache-Control": "no-store" };
const idParam = z.strictObject({ id: z.uuid("must be an order id") });
const listQuery = z.strictObject({
  limit: queryInt({ min: 1, max: 50, default: 20, description: "Orders per page." }),
  cursor: z
    .string()
    .regex(/^\d{1,12}$/, "must be a cursor from next_cursor")
    .transform(Number)
    .optional()
    .meta({ description: "`page.next_cursor` of the previous page." }),
});
const statusBody = z.strictObject({
  status: z.enum(["fulfilled", "shipped", "delivered"]),
  note: safeText({ multiline: true }).trim().max(500).optional().meta({ description: "Kept in the order history; newlines and tabs allowed." }),
});
const refundBody = z.strictObject({
  amount: z.number().int().min(1).max(100_000_000).optional().meta({ description: "Minor units; the whole remaining amount when absent." }),
});
const simulateBody = z.strictObject({ outcome: z.enum(["succeeded", "declined"]).default("succeeded") });
/** Not strict: the other request headers pass through untouched. */
const idempotencyHeaders = z.object({
  "idempotency-key": z
    .string({ error: "send an Idempotency-Key header with every refund" })
    .regex(/^[A-Za-z0-9_:.-]{8,100}$/, "must be 8-100 characters of A-Z a-z 0-9 _ : . -")
    .meta({ description: "Makes retries safe: a retry with the same key and body reaches Stripe as the same refund." }),
});

/** The owner (bearer token) or a guest holding the order's signed X-Order-Token. */
const ORDER_READER: SecurityRequirement[] = [{ bearerAuth: [] }, { orderToken: [] }];
const STAFF: SecurityRequirement[] = [{ staffAuth: [] }];
const STAFF_ERRORS = ["UNAUTHORIZED", "FORBIDDEN"] as const satisfies readonly ErrorCode[];
/** What a Stripe call's failure becomes (payments' stripeRefusal). */
const STRIPE_ERRORS = ["PAYMENT_PROVIDER_UNAVAILABLE", "PAYMENT_PROVIDER_REFUSED", "IDEMPOTENCY_KEY_REUSED"] as const satisfies readonly ErrorCode[];
/** Recording a payment moves stock (StockDO releases, commits, re-reservations). */
const STOCK_ERRORS = ["DURABLE_OBJECT_UNAVAILABLE", "DURABLE_OBJECT_OVERLOADED"] as const satisfies readonly ErrorCode[];

function viewerOf(c: Context<AppEnv>): OrderViewer {
  return { userId: c.get("userId"), orderToken: c.req.header(ORDER_TOKEN_HEADER) ?? null };
}

async function staffActorOf(c: Context<AppEnv>): Promise<StaffActor> {
  const p = currentPrincipal(c);
  return { actorId: p?.userId ?? null, role: p?.role ?? "staff-token", ipHash: await hashIp(clientIpOrNull(c), c.get("config").cookieSecret) };
}

const orderResponse = (description: string) => ok(orderDetailSchema, description, { headers: ["Cache-Control"], example: orderExample });

const list = apiRoute({
  method: "get",
  path: "/orders",
  tags: ["orders"],
  summary: "The signed-in customer's orders, newest first",
  description: "Keyset pages: follow `page.next_cursor` until it is null.",
  middleware: [requireAuth()],
  security: [{ bearerAuth: [] }],
  request: { query: listQuery },
  responses: {
    200: ok(z.array(orderSummarySchema), "One page of orders.", {
      headers: ["Cache-Control"],
      extra: { page: cursorPage },
      example: {
        data: [{ id: orderExample.data.id, number: orderExample.data.number, status: "paid", currency: "USD", grand_total: orderExample.data.grand_total, created_at: orderExample.data.created_at, item_count: 2 }],
        page: { limit: 20, next_cursor: null, has_more: false },
      },
    }),
  },
  errors: ["AUTHENTICATION_REQUIRED", "DATABASE_UNAVAILABLE"],
  fieldCodes: { query: { limit: "INVALID_LIMIT", cursor: "INVALID_CURSOR" } },
});

const detail = apiRoute({
  method: "get",
  path: "/orders/{id}",
  tags: ["orders"],
  summary: "One order, for its owner or the holder of its X-Order-Token",
  description: "Read from the primary, so it shows what a payment webhook just wrote. Anyone else's order is 404.",
  security: ORDER_READER,
  request: { params: idParam },
  responses: { 200: orderResponse("The order with its lines, history and shipping address.") },
  errors: ["ORDER_NOT_FOUND", "DATABASE_UNAVAILABLE"],
  fieldCodes: { param: { id: "ORDER_NOT_FOUND" } },
});

const cancel = apiRoute({
  method: "post",
  path: "/orders/{id}/cancel",
  tags: ["orders"],
  summary: "Cancel an unpaid order (its payment is cancelled, its stock returns)",
  description: "Only `pending_payment` and `payment_failed` orders; a payment that wins the race is recorded and answers 409 ORDER_NOT_CANCELLABLE.",
  security: ORDER_READER,
  request: { params: idParam },
  responses: { 200: orderResponse("The order after the cancellation.") },
  errors: ["ORDER_NOT_FOUND", "ORDER_NOT_CANCELLABLE", ...STRIPE_ERRORS, ...STOCK_ERRORS, "DATABASE_UNAVAILABLE"],
  fieldCodes: { param: { id: "ORDER_NOT_FOUND" } },
});

export const orderRoutes = apiRouter()
  .openapi(list, async (c) => {
    const q = c.req.valid("query");
    const page = await listOrders(serviceContext(c), c.get("userId"), q.limit, q.cursor ?? null);
    return c.json({ data: page.orders, page: { limit: q.limit, next_cursor: page.next_cursor, has_more: page.next_cursor !== null } }, 200, noStore);
  })
  .openapi(detail, async (c) => c.json({ data: await orderDetail(serviceContext(c), viewerOf(c), c.req.valid("param").id) }, 200, noStore))
  .openapi(cancel, async (c) => c.json({ data: await cancelOrder(serviceContext(c), viewerOf(c), c.req.valid("param").id) }, 200, noStore));

const transition = apiRoute({
  method: "post",
  path: "/orders/{id}/status",
  tags: ["admin-orders"],
  summary: "Move a paid order along fulfilment: fulfilled → shipped → delivered (audited)",
  middleware: [requireStaff()],
  security: STAFF,
  request: { params: idParam, body: { required: true, content: { "application/json": { schema: statusBody } } } },
  responses: { 200: orderResponse("The order after the change (a move to its current status changes nothing).") },
  errors: [...STAFF_ERRORS, "ORDER_NOT_FOUND", "INVALID_TRANSITION", "DATABASE_UNAVAILABLE"],
});

const refund = apiRoute({
  method: "post",
  path: "/orders/{id}/refund",
  tags: ["admin-orders"],
  summary: "Refund a paid order in full or in part (audited)",
  description:
    "Refunds of one order are serialised; Stripe's refusals are 409/422. The order's status and `amount_refunded` follow when Stripe's charge.refunded webhook arrives.",
  middleware: [requireStaff()],
  security: STAFF,
  request: { params: idParam, headers: idempotencyHeaders, body: { required: true, content: { "application/json": { schema: refundBody } } } },
  responses: { 200: ok(refundSchema, "The refund Stripe made.", { headers: ["Cache-Control"] }) },
  errors: [
    ...STAFF_ERRORS,
    "ORDER_NOT_FOUND",
    "ORDER_NOT_PAID",
    "REFUND_TOO_LARGE",
    "ORDER_ALREADY_REFUNDED",
    "ORDER_NOT_REFUNDABLE",
    "PAYMENT_STATE_CONFLICT",
    ...STRIPE_ERRORS,
    "DATABASE_UNAVAILABLE",
  ],
  fieldCodes: { header: { "idempotency-key": "IDEMPOTENCY_KEY_REQUIRED" } },
});

export const orderAdminRoutes = apiRouter()
  .openapi(transition, async (c) => {
    const body = c.req.valid("json");
    return c.json({ data: await staffTransition(serviceContext(c), await staffActorOf(c), c.req.valid("param").id, body.status, body.note ?? null) }, 200, noStore);
  })
  .openapi(refund, async (c) => {
    const key = c.req.valid("header")["idempotency-key"];
    return c.json({ data: await staffRefund(serviceContext(c), await staffActorOf(c), c.req.valid("param").id, c.req.valid("json").amount, key) }, 200, noStore);
  });

const simulate = apiRoute({
  method: "post",
  path: "/dev/orders/{id}/simulate-payment",
  tags: ["dev"],
  summary: "Pay (or decline) the order's PaymentIntent at the Stripe fake with a test card",
  description: "Development and test only. The fake then sends the webhook, as a real payment would.",
  security: ORDER_READER,
  request: { params: idParam, body: { required: true, content: { "application/json": { schema: simulateBody } } } },
  responses: { 200: ok(simulatedPaymentSchema, "The PaymentIntent after the confirmation.", { headers: ["Cache-Control"] }) },
  errors: ["ORDER_NOT_FOUND", "NO_PAYMENT_INTENT", "DATABASE_UNAVAILABLE"],
});

export const devPaymentRoutes = apiRouter().openapi(simulate, async (c) =>
  c.json({ data: await simulatePayment(serviceContext(c), viewerOf(c), c.req.valid("param").id, c.req.valid("json").outcome) }, 200, noStore),
);
