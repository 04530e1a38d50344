/**
 * The flash sale the checkout issue asks for, at full size, over HTTP: stock 100, 1,000 buyers with a cart each,
 * 1,000 checkouts at once → exactly 100 orders, 900 clean 409s; the 100 are paid through signed webhooks and the
 * Postgres ledger sums to −100. It runs against a real wrangler dev server (workerd, Durable Objects and queues)
 * started here on the test database, because inside the vitest workers pool every object and request shares one
 * thread (see test/worker/checkout.test.ts). Stripe is the local fake (dev/stripe-fake.ts).
 * Every buyer has an address of its own (`cf-connecting-ip`, which the worker trusts locally as Cloudflare sets it in
 * production), so the per-IP caps meet honest buyers as they would in production, and all 1,000 checkouts go out at
 * once over 1,000 connections: none may be answered with a 5xx. A second scenario is the hoarder of issue 10: one
 * address, many guest carts and one account trying to hold far more than its cap.
 * Every answer (the 1,000 checkouts included) is checked against the /openapi.json the Worker serves.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import pg from "pg";
import Stripe from "stripe";
import { Pool } from "undici";
import { startTestWorker } from "../../dev/test-worker";
import type { TestWorker } from "../../dev/test-worker";
import { LOCAL_STRIPE_SECRET_KEY, LOCAL_STRIPE_WEBHOOK_SECRET, loadStackConfig, pgUrl } from "../../dev/config";
import { LOCAL_ADMIN_TOKEN } from "../../dev/worker-env";
import { startStripeFake } from "../../dev/stripe-fake";
import type { StripeFake } from "../../dev/stripe-fake";
import { ConformanceChecker, assertConforms, assertExchange } from "../support/conformance";
import type { OpenApiDocument } from "../support/conformance";

const cfg = loadStackConfig();
const SKU = "BK00060-PB";
const STOCK = 100;
const BUYERS = 1000;
// Carts are filled in small batches: the setup is not what the test measures, and a shared 2-core machine is slow.
const SETUP_BATCH = 25;
const ADDRESS = { name: "Flash Buyer", line1: "1 Main St", city: "Springfield", region: "CA", postal_code: "90001", country: "US" };

let worker: TestWorker | undefined;
let origin = "";
const db = new pg.Client({ connectionString: pgUrl(cfg.pgPrimaryPort, cfg.testDatabase) });
// A Stripe fake of this file's own (not the shared one on the stack's port), so its objects are this run's alone.
let fake: StripeFake;
let stripe: Stripe;

beforeAll(async () => {
  fake = await startStripeFake({ port: 0, secretKey: LOCAL_STRIPE_SECRET_KEY, webhookSecret: LOCAL_STRIPE_WEBHOOK_SECRET, log: () => undefined });
  stripe = new Stripe(LOCAL_STRIPE_SECRET_KEY, { host: "127.0.0.1", port: fake.port, protocol: "http" });
  await db.connect();
  // Fresh Durable Object storage (persist: false) loads this stock from Postgres on first use.
  await db.query("update inventory set on_hand = $2 where sku = $1", [SKU, STOCK]);
  await db.query("delete from inventory_movements where sku = $1 and reason = 'sale'", [SKU]);
  worker = await startTestWorker(cfg, cfg.testDatabase, { API_RATE_LIMIT_PER_MINUTE: "100000", STRIPE_API_BASE: fake.url });
  origin = worker.origin;
  checker = new ConformanceChecker((await (await fetch(`${origin}/openapi.json`)).json()) as OpenApiDocument);
}, 120_000);

afterAll(async () => {
  await worker?.dispose();
  await db.end();
  await fake?.close();
});

/** The document the Worker serves: every answer of this file is checked against it. */
let checker: ConformanceChecker;

/** fetch to the Worker; the answer must conform to its OpenAPI document (an undocumented status, field or code fails). */
async function api(url: string, init: RequestInit = {}): Promise<Response> {
  const res = await fetch(url, init);
  await assertConforms(checker, init.method ?? "GET", url, res, init.headers);
  return res;
}

async function json<T>(res: Response): Promise<T> {
  return (await res.json()) as T;
}

/** Buyer n's own client address (CGNAT range, one per buyer). */
const buyerIp = (n: number): string => `100.64.${Math.floor(n / 250)}.${(n % 250) + 1}`;

it(`stock ${STOCK}, ${BUYERS} concurrent checkouts → ${STOCK} orders paid, ${BUYERS - STOCK} clean 409s, on_hand 0, ledger −${STOCK}`, async () => {
  const tokens: string[] = [];
  for (let i = 0; i < BUYERS; i += SETUP_BATCH) {
    tokens.push(
      ...(await Promise.all(
        Array.from({ length: SETUP_BATCH }, async (_, j) => {
          const ip = buyerIp(i + j);
          const createdRes = await api(`${origin}/v1/carts`, { method: "POST", headers: { "cf-connecting-ip": ip } });
          expect(createdRes.status, await createdRes.clone().text()).toBe(201);
          const created = await json<{ data: { cart_token: string } }>(createdRes);
          const token = created.data.cart_token;
          const added = await api(`${origin}/v1/cart/items`, { method: "POST", headers: { "content-type": "application/json", "x-cart-token": token, "cf-connecting-ip": ip }, body: JSON.stringify({ sku: SKU, quantity: 1 }) });
          expect(added.status, await added.clone().text()).toBe(200);
          return token;
        }),
      )),
    );
  }

  const pool = new Pool(origin, { connections: BUYERS });
  const t0 = Date.now();
  let done = 0;
  // On a loaded machine the burst can be slow: say how far it got rather than only time out.
  const progress = setInterval(() => console.log(`flash sale: ${done}/${BUYERS} answered after ${Date.now() - t0} ms`), 15_000);
  const answers = await Promise.all(
    tokens.map(async (token, i) => {
      const headers = { "content-type": "application/json", "x-cart-token": token, "cf-connecting-ip": buyerIp(i), "idempotency-key": `flash-${Date.now()}-${i}` };
      const res = await pool.request({ path: "/v1/checkout", method: "POST", headers, body: JSON.stringify({ email: `flash${i}@example.com`, shipping_address: ADDRESS }) });
      const text = await res.body.text();
      const responseHeaders = new Headers();
      for (const [k, v] of Object.entries(res.headers)) for (const one of Array.isArray(v) ? v : v === undefined ? [] : [v]) responseHeaders.append(k, one);
      assertExchange(checker, { method: "POST", url: `${origin}/v1/checkout`, requestHeaders: headers, status: res.statusCode, headers: responseHeaders, body: text });
      const answer = { status: res.statusCode, body: JSON.parse(text) as { data?: { order: { id: string }; payment: { payment_intent_id: string } }; error?: { code: string } } };
      done++;
      return answer;
    }),
  ).finally(() => clearInterval(progress));
  const ms = Date.now() - t0;
  await pool.close();
  const byStatus = answers.reduce<Record<string, number>>((m, a) => ({ ...m, [`${a.status} ${a.body.error?.code ?? ""}`.trim()]: (m[`${a.status} ${a.body.error?.code ?? ""}`.trim()] ?? 0) + 1 }), {});
  console.log(`flash sale: ${BUYERS} checkouts over ${BUYERS} connections in ${ms} ms (${Math.round(BUYERS / (ms / 1000))}/s): ${JSON.stringify(byStatus)}`);
  expect(answers.filter((a) => a.status >= 500)).toHaveLength(0);
  const won = answers.filter((a) => a.status === 201);
  expect(won).toHaveLength(STOCK);
  expect(answers.filter((a) => a.status === 409 && a.body.error?.code === "OUT_OF_STOCK")).toHaveLength(BUYERS - STOCK);

  // Pay every order at the fake, then deliver its payment_intent.succeeded event signed as Stripe signs it.
  const intents = new Set(won.map((w) => w.body.data?.payment.payment_intent_id ?? ""));
  for (const id of intents) await stripe.paymentIntents.confirm(id, { payment_method: "pm_card_visa", return_url: "https://shop.example/return" });
  const events: Stripe.Event[] = [];
  for await (const e of stripe.events.list({ type: "payment_intent.succeeded", limit: 100 })) {
    if (intents.has((e.data.object as { id: string }).id)) events.push(e);
    if (events.length === intents.size) break;
  }
  expect(events).toHaveLength(STOCK);
  await Promise.all(
    events.map(async (e) => {
      const payload = JSON.stringify(e);
      const header = stripe.webhooks.generateTestHeaderString({ payload, secret: LOCAL_STRIPE_WEBHOOK_SECRET });
      const res = await api(`${origin}/webhooks/stripe`, { method: "POST", headers: { "content-type": "application/json", "stripe-signature": header }, body: payload });
      expect(res.status).toBe(200);
    }),
  );

  const ids = won.map((w) => w.body.data?.order.id ?? "");
  const deadline = Date.now() + 60_000;
  let paid = 0;
  let ledger = 0;
  let onHand = -1;
  while (Date.now() < deadline) {
    paid = Number((await db.query<{ n: string }>("select count(*) as n from orders where id = any($1::uuid[]) and status = 'paid'", [ids])).rows[0]?.n);
    const row = (await db.query<{ sum: string | null; on_hand: number }>("select (select sum(delta) from inventory_movements where sku = $1 and reason = 'sale') as sum, (select on_hand from inventory where sku = $1) as on_hand", [SKU])).rows[0];
    ledger = Number(row?.sum ?? 0);
    onHand = row?.on_hand ?? -1;
    if (paid === STOCK && ledger === -STOCK) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  expect({ paid, ledger, onHand }).toEqual({ paid: STOCK, ledger: -STOCK, onHand: 0 });
  const stock = await json<{ data: { on_hand: number; held: number; available: number } }>(await api(`${origin}/v1/admin/inventory/${SKU}`, { headers: { authorization: `Bearer ${LOCAL_ADMIN_TOKEN}` } }));
  expect(stock.data).toMatchObject({ on_hand: 0, held: 0, available: 0 });
}, 420_000);

it("a hoarder (one address, 12 guest carts of 10 units and one account) ends holding at most its per-IP cap; the rest stays on sale", async () => {
  const sku = "BK00061-PB";
  const onHand = 113;
  const cap = 20; // CHECKOUT_MAX_UNITS_PER_IP
  await db.query("update inventory set on_hand = $2 where sku = $1", [sku, onHand]);
  // An address of its own per run: unpaid orders of an earlier run still count against an address for 5 minutes.
  const ip = `198.51.${Math.floor(Math.random() * 250)}.${Math.floor(Math.random() * 250) + 1}`;
  const headers = (extra: Record<string, string>) => ({ "content-type": "application/json", "cf-connecting-ip": ip, ...extra });
  const carts: Record<string, string>[] = [];
  for (let i = 0; i < 12; i++) {
    const created = await json<{ data: { cart_token: string } }>(await api(`${origin}/v1/carts`, { method: "POST", headers: headers({}) }));
    carts.push({ "x-cart-token": created.data.cart_token });
  }
  // Sign-up answers a uniform 202 with no session; the account then signs in.
  const account = JSON.stringify({ email: `hoarder-${Date.now()}@example.com`, password: "vK9#qL2$wX7!zR4p-secure" });
  const signup = await api(`${origin}/v1/auth/signup`, { method: "POST", headers: headers({}), body: account });
  expect(signup.status).toBe(202);
  const login = await api(`${origin}/v1/auth/login`, { method: "POST", headers: headers({}), body: account });
  expect(login.status).toBe(200);
  carts.push({ authorization: `Bearer ${(await json<{ data: { access_token: string } }>(login)).data.access_token}` });
  for (const cart of carts) {
    const added = await api(`${origin}/v1/cart/items`, { method: "POST", headers: headers(cart), body: JSON.stringify({ sku, quantity: 10 }) });
    expect(added.status).toBe(200);
  }
  const t0 = Date.now();
  const answers = await Promise.all(
    carts.map(async (cart, i) => {
      const res = await api(`${origin}/v1/checkout`, { method: "POST", headers: headers({ ...cart, "idempotency-key": `hoard-${t0}-${i}` }), body: JSON.stringify({ email: `hoard${i}@example.com`, shipping_address: ADDRESS }) });
      return { status: res.status, code: ((await res.json()) as { error?: { code: string } }).error?.code ?? null };
    }),
  );
  const codes = answers.reduce<Record<string, number>>((m, a) => ({ ...m, [`${a.status} ${a.code ?? ""}`.trim()]: (m[`${a.status} ${a.code ?? ""}`.trim()] ?? 0) + 1 }), {});
  console.log(`hoarder: ${carts.length} checkouts of 10 units from one address in ${Date.now() - t0} ms: ${JSON.stringify(codes)}`);
  expect(answers.filter((a) => a.status >= 500)).toHaveLength(0);
  const stock = await json<{ data: { held: number; available: number } }>(await api(`${origin}/v1/admin/inventory/${sku}`, { headers: { authorization: `Bearer ${LOCAL_ADMIN_TOKEN}` } }));
  expect(stock.data.held).toBeLessThanOrEqual(cap);
  expect(stock.data.available).toBeGreaterThanOrEqual(onHand - cap);
  expect(answers.filter((a) => a.status === 201).length * 10).toBe(stock.data.held);
}, 120_000);

it("a payment in progress (3-D Secure) extends the 5-minute hold to 15 minutes after checkout, once; a finished payment needs no extension", async () => {
  const sku = "BK00062-PB";
  const ip = `198.18.${Math.floor(Math.random() * 250)}.${Math.floor(Math.random() * 250) + 1}`;
  const headers = (extra: Record<string, string>) => ({ "content-type": "application/json", "cf-connecting-ip": ip, ...extra });
  const created = await json<{ data: { cart_token: string } }>(await api(`${origin}/v1/carts`, { method: "POST", headers: headers({}) }));
  const cart = { "x-cart-token": created.data.cart_token };
  expect((await api(`${origin}/v1/cart/items`, { method: "POST", headers: headers(cart), body: JSON.stringify({ sku, quantity: 1 }) })).status).toBe(200);
  const placed = await api(`${origin}/v1/checkout`, { method: "POST", headers: headers({ ...cart, "idempotency-key": `3ds-${Date.now()}` }), body: JSON.stringify({ email: "threeds@example.com", shipping_address: ADDRESS }) });
  expect(placed.status).toBe(201);
  const order = (await json<{ data: { order: { id: string; holds_expire_at: string }; payment: { payment_intent_id: string } } }>(placed)).data;
  const createdAt = (await db.query<{ created_at: Date }>("select created_at from orders where id = $1", [order.order.id])).rows[0]?.created_at.getTime() ?? 0;
  expect(new Date(order.order.holds_expire_at).getTime() - createdAt).toBeLessThan(310_000);
  const started = () => api(`${origin}/v1/checkout/payment-started`, { method: "POST", headers: headers(cart), body: JSON.stringify({ order_id: order.order.id }) });

  const notYet = await started();
  expect(notYet.status).toBe(409);
  expect(((await notYet.json()) as { error: { code: string } }).error.code).toBe("PAYMENT_NOT_STARTED");

  // The shopper's card asks for 3-D Secure: the PaymentIntent waits in requires_action while they authenticate.
  const challenged = await stripe.paymentIntents.confirm(order.payment.payment_intent_id, { payment_method: "pm_card_threeDSecure2Required", return_url: "https://shop.example/return" });
  expect(challenged.status).toBe("requires_action");
  const extended = await started();
  expect(extended.status).toBe(200);
  const body = (await extended.json()) as { data: { holds_expire_at: string; payment_status: string } };
  expect(body.data.payment_status).toBe("requires_action");
  const until = new Date(body.data.holds_expire_at).getTime();
  expect(Math.abs(until - (createdAt + 900_000))).toBeLessThan(2_000);
  const row = (await db.query<{ holds_expire_at: Date }>("select holds_expire_at from orders where id = $1", [order.order.id])).rows[0];
  expect(row?.holds_expire_at.getTime()).toBe(until);
  // Bounded: asking again does not push it further.
  const again = (await (await started()).json()) as { data: { holds_expire_at: string } };
  expect(again.data.holds_expire_at).toBe(body.data.holds_expire_at);

  // Authenticated: the payment succeeds; the order then needs no longer hold.
  const paid = await stripe.paymentIntents.confirm(order.payment.payment_intent_id, { payment_method: "pm_card_threeDSecure2Required", return_url: "https://shop.example/return" });
  expect(paid.status).toBe("succeeded");
  const after = await started();
  expect(after.status).toBe(409);
}, 60_000);
