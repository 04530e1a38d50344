/**
 * OWASP API Security Top 10 (2023) for payments: the Stripe webhook (API8 misconfiguration: replay window, malformed
 * signed events) and refunds/cancellation under concurrency (API6 sensitive business flows): Stripe's refusals are
 * 409/422, never 500, and refunds of one order are serialised.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { ADMIN_TOKEN, call, json, sql, waitFor } from "../worker/helpers";
import type { ErrorBody } from "../worker/helpers";
import { add, checkout, deliver, eventsFor, guestCart, orderRow, pay, setStock, signStripe } from "../worker/shop";
import type { CheckoutBody } from "../worker/shop";
import { selfFetch } from "../worker/conformance";

const ADDRESS = { name: "Grace Hopper", line1: "1 Navy Way", city: "Arlington", region: "VA", postal_code: "22202", country: "US" };

async function placeOrder(sku: string): Promise<CheckoutBody["data"]> {
  const cart = await guestCart();
  await add(cart, sku, 1);
  const res = await checkout(cart, `sec-pay-${crypto.randomUUID()}`, { email: `sec-${crypto.randomUUID().slice(0, 8)}@example.com`, shipping_address: ADDRESS });
  expect(res.status).toBe(201);
  return (await json<CheckoutBody>(res)).data;
}

/** Places, pays and lets the webhook mark the order paid. */
async function paidOrder(sku: string): Promise<CheckoutBody["data"]> {
  const order = await placeOrder(sku);
  expect(await pay(order.payment.payment_intent_id)).toBe("succeeded");
  const [event] = (await eventsFor(order.payment.payment_intent_id)).filter((e) => e.type === "payment_intent.succeeded");
  if (!event) throw new Error("no event");
  expect((await deliver(event)).status).toBe(200);
  await waitFor("order paid", async () => (await orderRow(order.order.id))?.status, (s) => s === "paid");
  return order;
}

/** A refund as its own incoming request (SELF), the way concurrent staff clicks arrive. */
function refund(orderId: string, body: Record<string, unknown> = {}): Promise<Response> {
  return selfFetch(`http://nexusbooks.test/v1/admin/orders/${orderId}/refund`, {
    method: "POST",
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json", "idempotency-key": `refund-${crypto.randomUUID()}` },
    body: JSON.stringify(body),
  });
}

async function signedPost(event: unknown, timestamp?: number): Promise<Response> {
  const payload = JSON.stringify(event);
  return call("/webhooks/stripe", { method: "POST", headers: { "content-type": "application/json", "stripe-signature": await signStripe(payload, timestamp) }, body: payload });
}

beforeAll(async () => {
  for (const sku of ["BK00070-PB", "BK00071-PB", "BK00072-PB", "BK00073-PB"]) await setStock(sku, 50);
});

describe("API8 Security Misconfiguration: the webhook", () => {
  it("refuses a signature dated more than 5 minutes ahead (and accepts one slightly ahead)", async () => {
    const order = await placeOrder("BK00070-PB");
    expect(await pay(order.payment.payment_intent_id)).toBe("succeeded");
    const [event] = (await eventsFor(order.payment.payment_intent_id)).filter((e) => e.type === "payment_intent.succeeded");
    if (!event) throw new Error("no event");
    const future = await deliver(event, { timestamp: Math.floor(Date.now() / 1000) + 3600 });
    expect(future.status).toBe(400);
    expect((await json<ErrorBody>(future)).error.code).toBe("WEBHOOK_SIGNATURE_INVALID");
    expect(await sql("primary", "select 1 from payment_events where event_id = $1", [event.id])).toHaveLength(0);
    // Clock skew inside the tolerance is fine.
    expect((await deliver(event, { timestamp: Math.floor(Date.now() / 1000) + 60 })).status).toBe(200);
  });

  it("answers 400 WEBHOOK_EVENT_INVALID to signed events without data.object or with the wrong object, storing nothing", async () => {
    const id = () => `evt_sec${crypto.randomUUID().replaceAll("-", "")}`;
    const bad = [
      { id: id(), object: "event", type: "payment_intent.succeeded", data: {} },
      { id: id(), object: "event", type: "payment_intent.succeeded" },
      { id: id(), object: "event", type: "payment_intent.succeeded", data: { object: null } },
      { id: id(), object: "event", type: "payment_intent.succeeded", data: { object: { object: "payment_intent" } } },
      { id: id(), object: "event", type: "charge.refunded", data: { object: { id: "ch_x1", object: "charge" } } },
      { id: id(), object: "event", type: "charge.refunded", data: { object: { id: "pi_x1", object: "payment_intent" } } },
      { id: "not-an-event-id", object: "event", type: "payment_intent.succeeded", data: { object: { id: "pi_x1", object: "payment_intent" } } },
      [1, 2, 3],
    ];
    for (const event of bad) {
      const res = await signedPost(event);
      expect(res.status, JSON.stringify(event)).toBe(400);
      const body = await json<ErrorBody>(res);
      expect(body.error.code).toBe("WEBHOOK_EVENT_INVALID");
      expect(body.error.request_id).toBe(res.headers.get("x-request-id"));
    }
    const ids = bad.flatMap((e) => (Array.isArray(e) ? [] : [e.id]));
    expect(await sql("primary", "select 1 from payment_events where event_id = any($1)", [ids])).toHaveLength(0);
  });
});

describe("API6 Unrestricted Access to Sensitive Business Flows: refunds and cancellation", () => {
  it("three concurrent full refunds: one 200, two 409 ORDER_ALREADY_REFUNDED, one refund at Stripe", async () => {
    const order = await paidOrder("BK00071-PB");
    const results = await Promise.all([refund(order.order.id), refund(order.order.id), refund(order.order.id)]);
    const statuses = results.map((r) => r.status).sort();
    expect(statuses).toEqual([200, 409, 409]);
    for (const r of results.filter((x) => x.status === 409)) expect((await json<ErrorBody>(r)).error.code).toBe("ORDER_ALREADY_REFUNDED");
    const audits = await sql("primary", "select 1 from audit_log where action = 'order.refund' and target_id = $1", [order.order.id]);
    expect(audits).toHaveLength(1);
  });

  it("concurrent partial refunds that together exceed the payment: the excess one is 422 REFUND_TOO_LARGE", async () => {
    const order = await paidOrder("BK00072-PB");
    const part = Math.floor(order.order.grand_total * 0.4);
    const results = await Promise.all([refund(order.order.id, { amount: part }), refund(order.order.id, { amount: part }), refund(order.order.id, { amount: part })]);
    const statuses = results.map((r) => r.status).sort();
    expect(statuses).toEqual([200, 200, 422]);
    const refused = results.find((r) => r.status === 422);
    expect((await json<ErrorBody>(refused as Response)).error.code).toBe("REFUND_TOO_LARGE");
  });

  it("a cancel that loses the race to a payment is 409 ORDER_NOT_CANCELLABLE, and the order is recorded as paid", async () => {
    const order = await placeOrder("BK00073-PB");
    // Paid at Stripe; the webhook has not arrived, so the order still says pending_payment.
    expect(await pay(order.payment.payment_intent_id)).toBe("succeeded");
    const res = await call(`/v1/orders/${order.order.id}/cancel`, { method: "POST", headers: { "x-order-token": order.order_token } });
    expect(res.status).toBe(409);
    expect((await json<ErrorBody>(res)).error.code).toBe("ORDER_NOT_CANCELLABLE");
    expect((await orderRow(order.order.id))?.status).toBe("paid");
  });
});
