/**
 * The cross-domain functions other domains and the queue consumers call instead of reading each other's tables
 * (issue 11): accounts' accountEmailFor, orders' orderEmailFacts, catalog's markProductsChanged. They are called
 * here directly through each domain's index, with the real primary, the way the consumers call them.
 */
import { afterAll, describe, expect, it } from "vitest";
import { env } from "cloudflare:test";
import { sql } from "./helpers";
import { DbRouter } from "../../workers/platform/db";
import type { Database } from "../../workers/platform/db";
import { getConfig } from "../../workers/platform/config";
import { createLogger } from "../../workers/platform/logger";
import { accountEmailFor } from "../../workers/accounts";
import { orderEmailFacts } from "../../workers/orders";
import { markProductsChanged, variantIdForSku } from "../../workers/catalog";

const config = getConfig(env);
const db = new DbRouter(config, createLogger("warn", {}));
afterAll(() => db.end());

type Tx = Pick<Database, "execute">;
const inTx = <T>(fn: (tx: Tx) => Promise<T>): Promise<T> => db.write((primary) => primary.transaction(fn));
const run = crypto.randomUUID().slice(0, 8);

/** A user written straight to the table, so no sign-up mail (and no consumer) races the counts below. */
async function user(tag: string, opts: { verified?: boolean; status?: string; name?: string } = {}): Promise<{ id: string; email: string }> {
  const email = `${tag}-${run}@example.com`;
  const [row] = await sql<{ id: string }>(
    "primary",
    `insert into users (email, email_normalized, password_hash, name, status, email_verified_at)
     values ($1, $1, 'x', $2, $3, case when $4 then now() end) returning id`,
    [email, opts.name ?? null, opts.status ?? "active", opts.verified ?? false],
  );
  return { id: (row as { id: string }).id, email };
}

describe("accounts: accountEmailFor", () => {
  it("mints a single-use link stored only as a hash, and stops at the per-recipient hourly limit", async () => {
    const u = await user("reset", { name: "Ada" });
    const task = { task_name: "email.password_reset", payload: { user_id: u.id } } as const;
    const first = await inTx((tx) => accountEmailFor({ config }, tx, task, 2));
    expect(first).toMatchObject({ template: "password_reset", to: u.email, name: null });
    const token = new URL((first as { link: string }).link).searchParams.get("token") ?? "";
    expect(token.length).toBeGreaterThan(20);
    const tokens = await sql<{ token_hash: string }>("primary", "select token_hash from user_tokens where user_id = $1 and purpose = 'reset_password'", [u.id]);
    expect(tokens).toHaveLength(1);
    expect(tokens[0]?.token_hash).not.toContain(token);
    expect(await inTx((tx) => accountEmailFor({ config }, tx, task, 2))).not.toBeNull();
    // The third in the hour is suppressed and mints nothing.
    expect(await inTx((tx) => accountEmailFor({ config }, tx, task, 2))).toBeNull();
    expect(await sql("primary", "select 1 from user_tokens where user_id = $1", [u.id])).toHaveLength(2);
  });

  it("shows the name only to a verified owner, and writes to nobody it should not", async () => {
    const verified = await user("verified", { verified: true, name: "Grace" });
    const reset = await inTx((tx) => accountEmailFor({ config }, tx, { task_name: "email.password_reset", payload: { user_id: verified.id } }));
    expect(reset).toMatchObject({ template: "password_reset", name: "Grace" });
    // Already verified: no verification mail. Disabled: nothing at all.
    expect(await inTx((tx) => accountEmailFor({ config }, tx, { task_name: "email.verify_email", payload: { user_id: verified.id } }))).toBeNull();
    const disabled = await user("disabled", { status: "disabled" });
    expect(await inTx((tx) => accountEmailFor({ config }, tx, { task_name: "email.password_reset", payload: { user_id: disabled.id } }))).toBeNull();
    // A reset request for an address without an account finds nobody, one with an account (any case) finds its owner.
    expect(await inTx((tx) => accountEmailFor({ config }, tx, { task_name: "email.password_reset_request", payload: { email: `nobody-${run}@example.com` } }))).toBeNull();
    const byAddress = await inTx((tx) => accountEmailFor({ config }, tx, { task_name: "email.password_reset_request", payload: { email: verified.email.toUpperCase() } }));
    expect(byAddress).toMatchObject({ template: "password_reset", to: verified.email });
    const attempt = await inTx((tx) => accountEmailFor({ config }, tx, { task_name: "email.signup_attempt", payload: { user_id: verified.id } }));
    expect(attempt).toEqual({ template: "signup_attempt", to: verified.email, loginLink: `${config.publicAppUrl}/login`, resetLink: `${config.publicAppUrl}/forgot-password` });
  });

  it("rolls back with the caller's transaction: a failed delivery leaves no token and no mail count", async () => {
    const u = await user("rollback");
    await expect(
      inTx(async (tx) => {
        await accountEmailFor({ config }, tx, { task_name: "email.verify_email", payload: { user_id: u.id } });
        throw new Error("provider down");
      }),
    ).rejects.toThrow("provider down");
    expect(await sql("primary", "select 1 from user_tokens where user_id = $1", [u.id])).toHaveLength(0);
    expect(await sql("primary", "select 1 from account_mails where user_id = $1", [u.id])).toHaveLength(0);
  });
});

describe("orders: orderEmailFacts", () => {
  it("null for an order that does not exist", async () => {
    expect(await orderEmailFacts({ db, config }, crypto.randomUUID())).toBeNull();
  });

  it("an existing order's number, lines and link", async () => {
    const [o] = await sql<{ id: string; number: string; email: string; lines: string }>(
      "primary",
      "select o.id, o.number::text, o.email, (select count(*) from order_lines l where l.order_id = o.id)::text as lines from orders o order by o.created_at desc limit 1",
    );
    if (!o) return; // a fresh database without orders: covered by the payments tests' order emails
    const facts = await orderEmailFacts({ db, config }, o.id);
    expect(facts).toMatchObject({ email: o.email, number: `NB-${o.number.padStart(6, "0")}`, link: `${config.publicAppUrl}/orders/${o.id}` });
    expect(facts?.lines).toHaveLength(Number(o.lines));
  });
});

describe("catalog: markProductsChanged", () => {
  it("bumps each product once, queues its reindex only when asked, all in the caller's transaction", async () => {
    const variants = await sql<{ id: string; product_id: string; slug: string }>(
      "primary",
      `select v.id::text, v.product_id::text, p.slug from variants v join products p on p.id = v.product_id
       where v.product_id in (select product_id from variants group by product_id having count(*) > 1 limit 1)`,
    );
    expect(variants.length).toBeGreaterThan(1);
    const productId = Number(variants[0]?.product_id);
    const version = async () => Number((await sql<{ version: string }>("primary", "select version::text from products where id = $1", [productId]))[0]?.version);
    const before = await version();
    const quiet = await inTx((tx) => markProductsChanged(tx, { variantIds: variants.map((v) => Number(v.id)), reason: "stock.held", reindex: false, traceId: null }));
    expect(quiet.outboxIds).toEqual([]);
    expect(quiet.products).toEqual([{ productId, slug: variants[0]?.slug, version: before + 1 }]);
    expect(await version()).toBe(before + 1);

    const loud = await inTx((tx) => markProductsChanged(tx, { variantIds: [Number(variants[0]?.id)], reason: "stock.changed", reindex: true, traceId: "trace-dm" }));
    expect(loud.outboxIds).toHaveLength(1);
    const [row] = await sql<{ queue: string; task_name: string; payload: Record<string, unknown>; trace_id: string }>(
      "primary",
      "select queue, task_name, payload, trace_id from outbox where id = $1",
      [loud.outboxIds[0]],
    );
    expect(row).toEqual({ queue: "search-index", task_name: "catalog.product.changed", payload: { product_id: productId, slug: variants[0]?.slug, reason: "stock.changed" }, trace_id: "trace-dm" });

    // Rolled back with its caller: no version bump, no outbox row.
    await expect(
      inTx(async (tx) => {
        await markProductsChanged(tx, { variantIds: [Number(variants[0]?.id)], reason: "stock.changed", reindex: true, traceId: null });
        throw new Error("the caller gives up");
      }),
    ).rejects.toThrow("the caller gives up");
    expect(await version()).toBe(before + 2);
    expect((await inTx((tx) => markProductsChanged(tx, { variantIds: [], reason: "stock.changed", reindex: true, traceId: null }))).products).toEqual([]);
  });
});

describe("catalog: variantIdForSku", () => {
  it("the variant of a SKU, or null for a SKU no variant has", async () => {
    const [v] = await sql<{ id: string; sku: string }>("primary", "select id::text, sku from variants order by id limit 1");
    expect(await inTx((tx) => variantIdForSku(tx, (v as { sku: string }).sku))).toBe(Number(v?.id));
    expect(await inTx((tx) => variantIdForSku(tx, "NO-SUCH-SKU-0"))).toBeNull();
  });
});
