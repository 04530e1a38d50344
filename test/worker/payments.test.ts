/**
 * Payments: signed webhooks through the payment-webhooks queue, in any order and any number of times; hold expiry,
 * reconciliation, late success (re-reserve or refund), and a consumer failure that goes to the dead-letter queue
 * and is re-driven. Stripe is the local fake (dev/stripe-fake.ts, following Stripe's API); its events are delivered
 * here, signed as Stripe signs them.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { env, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { ADMIN_TOKEN, call, json, sql, waitFor } from "./helpers";
import type { ErrorBody } from "./helpers";
import { add, checkout, deliver, eventsFor, guestCart, orderRow, pay, setStock, stripe } from "./shop";
import type { CheckoutBody, StripeEvent } from "./shop";
import { reconcileStuckOrders } from "../../workers/orders";
import { standaloneServiceContext } from "../../workers/platform/service-context";
import { createLogger } from "../../workers/platform/logger";

async function placeOrder(sku: string, qty = 1, email = `buyer-${crypto.randomUUID().slice(0, 8)}@example.com`): Promise<CheckoutBody["data"] & { email: string }> {
  const cart = await guestCart();
  await add(cart, sku, qty);
  const res = await checkout(cart, `pay-${crypto.randomUUID()}`, { email, shipping_address: { name: "Grace Hopper", line1: "1 Navy Way", city: "Arlington", region: "VA", postal_code: "22202", country: "US" } });
  expect(res.status).toBe(201);
  return { ...(await json<CheckoutBody>(res)).data, email };
}

const statusOf = async (id: string): Promise<string | undefined> => (await orderRow(id))?.status;
const mails = (to: string) => sql<{ subject: string }>("primary", "select subject from dev_mailbox where to_address = $1 order by id", [to]);
const stockOf = (sku: string) => env.STOCK_DO.getByName(`sku:${sku}`).snapshot(sku);

function shuffle<T>(xs: T[]): T[] {
  const a = [...xs];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [a[i], a[j]] = [a[j] as T, a[i] as T];
  }
  return a;
}

// Paid orders really consume stock, and the test database outlives a run: restock what this file sells before any
// StockDO of this run loads it from Postgres.
beforeAll(async () => {
  for (const sku of ["BK00040-PB", "BK00041-PB", "BK00042-PB", "BK00043-PB", "BK00044-PB", "BK00045-PB", "BK00047-PB"]) await setStock(sku, 50);
});

describe("webhooks", () => {
  it("rejects a bad or stale signature and changes nothing", async () => {
    const order = await placeOrder("BK00040-PB");
    expect(await pay(order.payment.payment_intent_id)).toBe("succeeded");
    const [event] = (await eventsFor(order.payment.payment_intent_id)).filter((e) => e.type === "payment_intent.succeeded");
    if (!event) throw new Error("no event");
    const stale = await deliver(event, { timestamp: Math.floor(Date.now() / 1000) - 301 });
    expect(stale.status).toBe(400);
    expect((await json<ErrorBody>(stale)).error.code).toBe("WEBHOOK_SIGNATURE_INVALID");
    const payload = JSON.stringify(event);
    const tampered = await call("/webhooks/stripe", { method: "POST", headers: { "stripe-signature": "t=1,v1=00" }, body: payload });
    expect(tampered.status).toBe(400);
    expect(await sql("primary", "select 1 from payment_events where event_id = $1", [event.id])).toHaveLength(0);
    expect(await statusOf(order.order.id)).toBe("pending_payment");
  });

  it("every event 3 times, shuffled: no duplicate effect, right final states, one email per event", async () => {
    // A: paid, then partly refunded. B: declined, then paid with another card. C: cancelled.
    const a = await placeOrder("BK00041-PB", 2);
    const b = await placeOrder("BK00042-PB");
    const c = await placeOrder("BK00043-PB");
    const before42 = (await stockOf("BK00042-PB")).onHand;
    expect(await pay(a.payment.payment_intent_id)).toBe("succeeded");
    const refund = await stripe<{ id: string; status: string }>("/v1/refunds", { payment_intent: a.payment.payment_intent_id, amount: "500" });
    expect(refund.body.status).toBe("succeeded");
    expect(await pay(b.payment.payment_intent_id, "pm_card_chargeDeclined")).toBe("requires_payment_method");
    expect(await pay(b.payment.payment_intent_id)).toBe("succeeded");
    expect((await stripe(`/v1/payment_intents/${c.payment.payment_intent_id}/cancel`, {})).status).toBe(200);

    const events: StripeEvent[] = [];
    for (const o of [a, b, c]) events.push(...(await eventsFor(o.payment.payment_intent_id)));
    const deliveries = shuffle([...events, ...events, ...events]);
    const statuses = [];
    for (const e of deliveries) statuses.push((await deliver(e)).status);
    expect(statuses.every((s) => s === 200)).toBe(true);
    const handled = events.filter((e) => ["payment_intent.succeeded", "payment_intent.payment_failed", "payment_intent.canceled", "charge.refunded"].includes(e.type));
    expect(await sql("primary", "select event_id from payment_events where event_id = any($1)", [events.map((e) => e.id)])).toHaveLength(handled.length);

    await waitFor("all events processed", async () => (await sql<{ n: string }>("primary", "select count(*) as n from payment_events where event_id = any($1) and processed_at is null", [events.map((e) => e.id)]))[0]?.n, (n) => Number(n) === 0);
    expect(await orderRow(a.order.id)).toMatchObject({ status: "partially_refunded", amount_paid: a.order.grand_total, amount_refunded: 500 });
    expect(await orderRow(b.order.id)).toMatchObject({ status: "paid", amount_paid: b.order.grand_total });
    expect(await statusOf(c.order.id)).toBe("cancelled");
    // Stock: A and B sold (committed once), C's hold released.
    expect((await stockOf("BK00042-PB")).onHand).toBe(before42 - 1);
    expect((await stockOf("BK00043-PB")).held).toBe(0);

    await waitFor("emails", async () => (await mails(a.email)).length + (await mails(b.email)).length, (n) => n >= 3);
    await new Promise((r) => setTimeout(r, 1500));
    const aMail = (await mails(a.email)).map((m) => m.subject);
    expect(aMail.filter((s) => s.includes("is confirmed"))).toHaveLength(1);
    expect(aMail.filter((s) => s.startsWith("Refund"))).toHaveLength(1);
    const bMail = (await mails(b.email)).map((m) => m.subject);
    expect(bMail.filter((s) => s.includes("is confirmed"))).toHaveLength(1);
    expect(bMail.filter((s) => s.includes("did not go through")).length).toBeLessThanOrEqual(1);
    expect(await mails(c.email)).toHaveLength(0);
    const history = await sql<{ to_status: string }>("primary", "select to_status from order_history where order_id = $1 order by id", [a.order.id]);
    expect(history.map((h) => h.to_status)).toEqual(["pending_payment", "paid", "partially_refunded"]);
  }, 60_000);
});

describe("holds and reconciliation", () => {
  const expireHoldsNow = async (sku: string): Promise<void> => {
    const stub = env.STOCK_DO.getByName(`sku:${sku}`);
    await runInDurableObject(stub, (_i, state) => {
      state.storage.sql.exec("update holds set expires_at = ? where state = 'active'", Date.now() - 1);
    });
    await runDurableObjectAlarm(stub);
  };
  const reconcile = async (): Promise<Record<string, number>> => {
    const ctx = standaloneServiceContext(env, { waitUntil: () => undefined }, { log: createLogger("warn", { test: "reconcile" }) });
    try {
      return await reconcileStuckOrders(ctx, 500);
    } finally {
      await ctx.end();
    }
  };

  it("expired holds give the stock back; reconciliation cancels the PaymentIntent and expires the order", async () => {
    const sku = "BK00044-PB";
    const before = await stockOf(sku);
    const order = await placeOrder(sku, 3);
    expect((await stockOf(sku)).held).toBe(before.held + 3);
    await expireHoldsNow(sku);
    expect(await stockOf(sku)).toMatchObject({ held: before.held, available: before.available });
    await sql("primary", "update orders set holds_expire_at = now() - interval '5 minutes' where id = $1", [order.order.id]);
    const outcomes = await reconcile();
    expect(outcomes.expired).toBeGreaterThanOrEqual(1);
    expect(await statusOf(order.order.id)).toBe("expired");
    const pi = await stripe<{ status: string }>(`/v1/payment_intents/${order.payment.payment_intent_id}`);
    expect(pi.body.status).toBe("canceled");
  });

  it("a payment after the holds lapsed re-reserves when stock is left, and refunds (and tells the shopper) when it is not", async () => {
    const plenty = "BK00045-PB";
    const late = await placeOrder(plenty, 1);
    await expireHoldsNow(plenty);
    const onHand = (await stockOf(plenty)).onHand;
    expect(await pay(late.payment.payment_intent_id)).toBe("succeeded");
    const [ok] = (await eventsFor(late.payment.payment_intent_id)).filter((e) => e.type === "payment_intent.succeeded");
    if (!ok) throw new Error("no event");
    expect((await deliver(ok)).status).toBe(200);
    await waitFor("late order paid", () => statusOf(late.order.id), (s) => s === "paid");
    expect((await stockOf(plenty)).onHand).toBe(onHand - 1);

    const scarce = "BK00046-PB";
    await setStock(scarce, 1);
    const first = await placeOrder(scarce, 1);
    await expireHoldsNow(scarce);
    const second = await placeOrder(scarce, 1);
    expect(await pay(second.payment.payment_intent_id)).toBe("succeeded");
    expect(await pay(first.payment.payment_intent_id)).toBe("succeeded");
    for (const o of [second, first]) {
      const [e] = (await eventsFor(o.payment.payment_intent_id)).filter((x) => x.type === "payment_intent.succeeded");
      if (!e) throw new Error("no event");
      expect((await deliver(e)).status).toBe(200);
      await waitFor("order settled", () => statusOf(o.order.id), (s) => s === "paid" || s === "refunded");
    }
    expect(await statusOf(second.order.id)).toBe("paid");
    expect(await orderRow(first.order.id)).toMatchObject({ status: "refunded", amount_refunded: first.order.grand_total });
    const refunds = await stripe<{ status: string; amount_received: number; latest_charge: { amount_refunded: number } }>(`/v1/payment_intents/${first.payment.payment_intent_id}?expand[]=latest_charge`);
    expect(refunds.body.latest_charge.amount_refunded).toBe(first.order.grand_total);
    expect(await stockOf(scarce)).toMatchObject({ onHand: 0, held: 0 });
    await waitFor("out-of-stock email", async () => (await mails(first.email)).map((m) => m.subject), (s) => s.some((x) => x.includes("could not be fulfilled")));
  }, 60_000);
});

describe("dead letters", () => {
  it("a consumer that keeps failing: retried, then dead-lettered and stored; re-drive from the admin API processes it", async () => {
    const order = await placeOrder("BK00047-PB");
    expect(await pay(order.payment.payment_intent_id)).toBe("succeeded");
    const [event] = (await eventsFor(order.payment.payment_intent_id)).filter((e) => e.type === "payment_intent.succeeded");
    if (!event) throw new Error("no event");
    // The message arrives before its event row exists (as if the row were lost): the consumer throws every time.
    const jobId = crypto.randomUUID();
    await env.PAYMENT_QUEUE.send({ task_name: "payment.stripe_event", job_id: jobId, payload: { event_id: event.id }, created_at: new Date().toISOString(), trace_id: null }, { contentType: "json" });
    const dead = await waitFor(
      "the dead letter",
      () => sql<{ message_id: string; attempts: number; queue: string }>("primary", "select message_id, attempts, queue from dead_letters where job_id = $1", [jobId]),
      (rows) => rows.length === 1,
      60_000,
    );
    expect(dead[0]).toMatchObject({ queue: "payment-webhooks" });
    expect(await statusOf(order.order.id)).toBe("pending_payment");

    const list = await call("/v1/admin/dead-letters?queue=payment-webhooks&pending=true", { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    expect(list.status).toBe(200);
    expect((await json<{ data: { id: string }[] }>(list)).data.map((d) => d.id)).toContain(dead[0]?.message_id);

    await sql("primary", "insert into payment_events (event_id, type, payment_intent_id, order_id, payload) values ($1, $2, $3, $4, $5::jsonb)", [event.id, event.type, order.payment.payment_intent_id, order.order.id, JSON.stringify(event)]);
    const redrive = await call(`/v1/admin/dead-letters/${dead[0]?.message_id ?? ""}/redrive`, { method: "POST", headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    expect(redrive.status).toBe(200);
    await waitFor("the re-driven event applied", () => statusOf(order.order.id), (s) => s === "paid");
  }, 90_000);
});
