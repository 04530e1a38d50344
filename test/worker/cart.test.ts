/** The CartDO through the API: guest carts, lines, caps, stock checks, versions, coupon slot, merge and expiry. */
import { describe, expect, it } from "vitest";
import { env, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { call, json, nextIp } from "./helpers";
import type { ErrorBody } from "./helpers";
import { add, cartCall, guestCart } from "./shop";
import { registerAndLogin } from "./accounts-helpers";
import { applySqliteMigrations } from "../../durable-objects/sqlite-migrations";
import { cartMigrations } from "../../durable-objects/cart-schema";
import type { CartDO } from "../../durable-objects/cart-do";

interface CartBody {
  data: { id: string; status: string; version: number; lines: { sku: string; quantity: number; unit_price: number; available: number | null; in_stock: boolean }[]; item_count: number; subtotal: number; coupon: string | null };
}

describe("guest carts", () => {
  it("creates a cart, adds, changes, removes and clears lines with a version bumped on every change", async () => {
    const cart = await guestCart();
    const empty = await json<CartBody>(await cartCall(cart, "/v1/cart"));
    expect(empty.data).toMatchObject({ status: "open", lines: [], item_count: 0, subtotal: 0 });
    const v0 = empty.data.version;

    const added = await json<CartBody>(await cartCall(cart, "/v1/cart/items", "POST", { sku: "BK00002-PB", quantity: 2 }));
    expect(added.data.version).toBe(v0 + 1);
    const line = added.data.lines[0];
    expect(line).toMatchObject({ sku: "BK00002-PB", quantity: 2 });
    expect(line?.unit_price).toBeGreaterThan(0);
    expect(added.data.subtotal).toBe((line?.unit_price ?? 0) * 2);
    expect(line?.available).toBeTypeOf("number");

    const summed = await json<CartBody>(await cartCall(cart, "/v1/cart/items", "POST", { sku: "BK00002-PB", quantity: 1 }));
    expect(summed.data.lines[0]?.quantity).toBe(3);
    const changed = await json<CartBody>(await cartCall(cart, "/v1/cart/items/BK00002-PB", "PATCH", { quantity: 1 }));
    expect(changed.data.lines[0]?.quantity).toBe(1);
    await add(cart, "BK00001-EB");
    const ebook = (await json<CartBody>(await cartCall(cart, "/v1/cart"))).data.lines.find((l) => l.sku === "BK00001-EB");
    expect(ebook).toMatchObject({ available: null, in_stock: true });
    const removed = await json<CartBody>(await cartCall(cart, "/v1/cart/items/BK00002-PB", "DELETE"));
    expect(removed.data.lines.map((l) => l.sku)).toEqual(["BK00001-EB"]);
    const coupon = await json<CartBody>(await cartCall(cart, "/v1/cart/coupon", "PUT", { code: "spring-10" }));
    expect(coupon.data.coupon).toBe("SPRING-10");
    const cleared = await json<CartBody>(await cartCall(cart, "/v1/cart", "DELETE"));
    expect(cleared.data).toMatchObject({ lines: [], coupon: null });
    expect(cleared.data.version).toBe(v0 + 7);
  });

  it("refuses bad quantities, unknown fields, client prices, unknown SKUs and over-cap lines without changing the cart", async () => {
    const cart = await guestCart();
    await add(cart, "BK00017-PB", 1);
    const before = await json<CartBody>(await cartCall(cart, "/v1/cart"));
    for (const body of [{ sku: "BK00017-PB", quantity: 0 }, { sku: "BK00017-PB", quantity: -1 }, { sku: "BK00017-PB", quantity: 1.5 }, { sku: "BK00017-PB", quantity: "2" }]) {
      const res = await cartCall(cart, "/v1/cart/items", "POST", body);
      expect(res.status).toBe(400);
      expect((await json<ErrorBody>(res)).error.code).toBe("INVALID_QUANTITY");
    }
    const priced = await cartCall(cart, "/v1/cart/items", "POST", { sku: "BK00017-PB", quantity: 1, unit_price: 1 });
    expect(priced.status).toBe(400);
    expect((await json<ErrorBody>(priced)).error.code).toBe("UNKNOWN_FIELD");
    const unknown = await cartCall(cart, "/v1/cart/items", "POST", { sku: "ZZ99999-XX", quantity: 1 });
    expect(unknown.status).toBe(404);
    expect((await json<ErrorBody>(unknown)).error.code).toBe("VARIANT_NOT_FOUND");
    const cap = await cartCall(cart, "/v1/cart/items", "POST", { sku: "BK00017-PB", quantity: 10 });
    expect(cap.status).toBe(422);
    expect((await json<ErrorBody>(cap)).error).toMatchObject({ code: "QUANTITY_LIMIT", details: { max: 10, in_cart: 1 } });
    const after = await json<CartBody>(await cartCall(cart, "/v1/cart"));
    expect(after.data).toEqual(before.data);
  });

  it("refuses more than the stock available", async () => {
    const cart = await guestCart();
    const res = await cartCall(cart, "/v1/cart/items", "POST", { sku: "BK00012-PB", quantity: 1 });
    expect(res.status).toBe(409);
    expect((await json<ErrorBody>(res)).error).toMatchObject({ code: "INSUFFICIENT_STOCK", details: { sku: "BK00012-PB", available: 0 } });
  });

  it("answers 404 without a token, with a forged token, and with another cart's id under a bad signature", async () => {
    expect((await call("/v1/cart")).status).toBe(404);
    const cart = await guestCart();
    const [id] = (cart.token ?? "").split(".");
    for (const token of [`${id}.AAAA`, `g-${crypto.randomUUID()}.${(cart.token ?? "").split(".")[1]}`, "garbage"]) {
      const res = await call("/v1/cart", { headers: { "x-cart-token": token } });
      expect(res.status).toBe(404);
      expect((await json<ErrorBody>(res)).error.code).toBe("CART_NOT_FOUND");
    }
  });

  it("serialises 50 concurrent adds of one line: no lost update, the cap holds", async () => {
    const cart = await guestCart();
    const results = await Promise.all(Array.from({ length: 50 }, () => cartCall(cart, "/v1/cart/items", "POST", { sku: "BK00003-PB", quantity: 1 })));
    const ok = results.filter((r) => r.status === 200).length;
    expect(ok).toBe(10);
    expect(results.filter((r) => r.status === 422).length).toBe(40);
    const final = await json<CartBody>(await cartCall(cart, "/v1/cart"));
    expect(final.data.lines[0]?.quantity).toBe(10);
  });
});

describe("signed-in carts and merge at login", () => {
  const PASSWORD = "vK9#qL2$wX7!zR4p-secure";
  it("merges a guest cart into the user's cart on login, summing and capping quantities; the guest token stops working", async () => {
    const email = `merge-${crypto.randomUUID().slice(0, 8)}@example.com`;
    // Sign-up starts no session (it answers the same for taken addresses): sign in after it.
    const token = (await registerAndLogin(email, PASSWORD)).body.access_token;
    const mine = { token: null, headers: { authorization: `Bearer ${token}` } };
    await add(mine, "BK00004-PB", 8);
    await add(mine, "BK00005-PB", 1);

    const guest = await guestCart();
    await add(guest, "BK00004-PB", 5);
    await add(guest, "BK00006-PB", 2);
    const login = await call("/v1/auth/login", {
      method: "POST",
      headers: { "content-type": "application/json", "cf-connecting-ip": nextIp(), "x-cart-token": guest.token ?? "" },
      body: JSON.stringify({ email, password: PASSWORD }),
    });
    expect(login.status).toBe(200);
    const body = (await json<{ data: { access_token: string; cart: { merged: { added: string[]; capped: string[] } } } }>(login)).data;
    expect(body.cart.merged.capped).toEqual(["BK00004-PB"]);

    const after = await json<CartBody>(await cartCall({ token: null, headers: { authorization: `Bearer ${body.access_token}` } }, "/v1/cart"));
    const qty = Object.fromEntries(after.data.lines.map((l) => [l.sku, l.quantity]));
    expect(qty).toEqual({ "BK00004-PB": 10, "BK00005-PB": 1, "BK00006-PB": 2 });
    expect((await cartCall(guest, "/v1/cart")).status).toBe(404);
  });
});

describe("idle expiry", () => {
  it("an idle cart's alarm deletes it and releases the holds of a checkout left hanging", async () => {
    const cart = await guestCart();
    await add(cart, "BK00007-PB", 2);
    const before = await env.STOCK_DO.getByName("sku:BK00007-PB").snapshot("BK00007-PB");
    const id = (cart.token ?? "").split(".")[0] ?? "";
    const stub = env.CART_DO.getByName(`cart:${id}`);
    // A saga that died after taking its holds (the object was evicted, say): the lock and the holds remain.
    const orderId = crypto.randomUUID();
    expect((await env.STOCK_DO.getByName("sku:BK00007-PB").reserve("BK00007-PB", `${orderId}:BK00007-PB`, 2, 3600)).ok).toBe(true);
    await runInDurableObject(stub, (_i, state) => {
      const input = { cartId: id, orderId, idempotencyKey: "stuck-1", userId: null, email: "a@example.com", shippingAddress: {}, coupon: null, items: [{ sku: "BK00007-PB", qty: 2, unitPrice: 1 }], traceId: null };
      state.storage.sql.exec("insert into checkouts (idem_key, order_id, request_hash, state, request, result, created_at) values ('stuck-1', ?, 'h', 'started', ?, null, ?)", orderId, JSON.stringify(input), Date.now());
      state.storage.sql.exec("update meta set value = 'checking_out' where key = 'status'");
    });
    expect((await env.STOCK_DO.getByName("sku:BK00007-PB").snapshot("BK00007-PB")).held).toBe(before.held + 2);
    const blocked = await cartCall(cart, "/v1/cart/items", "POST", { sku: "BK00008-PB", quantity: 1 });
    expect(blocked.status).toBe(409);
    expect((await json<ErrorBody>(blocked)).error.code).toBe("CART_LOCKED");

    // Nothing happens before the idle period is over …
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect((await cartCall(cart, "/v1/cart")).status).toBe(200);
    // … and everything is given back once it is.
    await runInDurableObject(stub, (_i, state) => {
      state.storage.sql.exec("update meta set value = '0' where key = 'touched_at'");
    });
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect((await cartCall(cart, "/v1/cart")).status).toBe(404);
    expect((await env.STOCK_DO.getByName("sku:BK00007-PB").snapshot("BK00007-PB")).held).toBe(before.held);
  });

  it("keeps one alarm across changes; one that fires early moves to the last change plus the idle period", async () => {
    const cart = await guestCart();
    const id = (cart.token ?? "").split(".")[0] ?? "";
    const stub = env.CART_DO.getByName(`cart:${id}`);
    const created = await runInDurableObject(stub, (_i, state) => state.storage.getAlarm());
    expect(created).not.toBeNull();
    // A change made later does not rewrite the alarm (no storage write per add)…
    await new Promise((done) => setTimeout(done, 20));
    await add(cart, "BK00009-PB", 1);
    expect(await runInDurableObject(stub, (_i, state) => state.storage.getAlarm())).toBe(created);
    const touchedAt = await runInDurableObject(stub, (_i, state) => Number(state.storage.sql.exec<{ value: string }>("select value from meta where key = 'touched_at'").one().value));
    expect(touchedAt).toBeGreaterThan((created ?? 0) - 604_800_000);
    // …so the alarm fires early, keeps the cart and reschedules itself to touched_at + idle period.
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect((await cartCall(cart, "/v1/cart")).status).toBe(200);
    expect(await runInDurableObject(stub, (_i, state) => state.storage.getAlarm())).toBe(touchedAt + 604_800_000);
  });
});

describe("CartDO storage schema", () => {
  it("is tracked in _schema_migrations; a cart stored before tracking (v1 tables, no run lease) adopts it and gains the lease columns", async () => {
    const cart = await guestCart();
    const cartId = (cart.token ?? "").split(".")[0] ?? "";
    const stub = env.CART_DO.getByName(`cart:${cartId}`);
    await runInDurableObject(stub, (_obj: CartDO, state) => {
      const sql = state.storage.sql;
      expect(sql.exec<{ version: number }>("select version from _schema_migrations order by version").toArray().map((r) => r.version)).toEqual([1, 2]);
      // Rewind this object's storage to what carts had before migrations were tracked.
      sql.exec("drop table _schema_migrations");
      sql.exec("drop table checkouts");
      sql.exec(`create table checkouts (
        idem_key text primary key, order_id text not null, request_hash text not null,
        state text not null check (state in ('started','done')), request text not null, result text, created_at integer not null)`);
      sql.exec("insert into checkouts (idem_key, order_id, request_hash, state, request, result, created_at) values ('old-key-1', 'o1', 'h', 'started', '{}', null, 1)");
      expect(applySqliteMigrations(state.storage, cartMigrations)).toEqual([1, 2]);
      const cols = sql.exec<{ name: string }>("pragma table_info(checkouts)").toArray().map((r) => r.name);
      expect(cols).toEqual(expect.arrayContaining(["run_id", "run_until"]));
      // The old row survives with no run in progress, so its key may resume.
      expect(sql.exec<{ run_until: number }>("select run_until from checkouts where idem_key = 'old-key-1'").one().run_until).toBe(0);
      expect(applySqliteMigrations(state.storage, cartMigrations)).toEqual([]);
    });
  });
});
