/**
 * OWASP API1 (object level authorization) for carts and orders: another shopper's cart or order is a 404 on every
 * route, whether they are signed in or hold a token for something else; API3 (mass assignment) on carts.
 */
import { describe, expect, it } from "vitest";
import { call, json, nextIp } from "../worker/helpers";
import type { ErrorBody } from "../worker/helpers";
import { ADDRESS, add, checkout, guestCart } from "../worker/shop";
import { registerAndLogin } from "../worker/accounts-helpers";
import type { CheckoutBody } from "../worker/shop";

const PASSWORD = "vK9#qL2$wX7!zR4p-secure";

async function newUser(): Promise<string> {
  // Sign-up starts no session (it answers the same for taken addresses): sign in after it.
  return (await registerAndLogin(`idor-${crypto.randomUUID().slice(0, 8)}@example.com`, PASSWORD)).body.access_token;
}

const bearer = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}`, "content-type": "application/json", "cf-connecting-ip": nextIp() });

describe("API1: orders and carts of others are 404", () => {
  it("a signed-in user's order: its owner reads it; another user, a guest, and a token for another order get 404", async () => {
    const alice = await newUser();
    const mallory = await newUser();
    const cart = { token: null, headers: { authorization: `Bearer ${alice}` } };
    await add(cart, "BK00050-PB", 1);
    const placed = await checkout(cart, `idor-${crypto.randomUUID()}`, { shipping_address: ADDRESS });
    expect(placed.status).toBe(201);
    const order = (await json<CheckoutBody>(placed)).data;
    expect((await call(`/v1/orders/${order.order.id}`, { headers: bearer(alice) })).status).toBe(200);
    const list = await json<{ data: { id: string }[]; page: { limit: number; next_cursor: string | null; has_more: boolean } }>(await call("/v1/orders", { headers: bearer(alice) }));
    expect(list.data.map((o) => o.id)).toContain(order.order.id);
    expect(list.page).toEqual({ limit: 20, next_cursor: null, has_more: false });

    const other = await guestCart();
    await add(other, "BK00050-PB", 1);
    const otherOrder = (await json<CheckoutBody>(await checkout(other, `idor-${crypto.randomUUID()}`))).data;

    for (const headers of [bearer(mallory), { "cf-connecting-ip": nextIp() }, { "x-order-token": otherOrder.order_token }, { "x-order-token": `${order.order.id}.forged` }]) {
      const read = await call(`/v1/orders/${order.order.id}`, { headers });
      expect(read.status).toBe(404);
      expect((await json<ErrorBody>(read)).error.code).toBe("ORDER_NOT_FOUND");
      const cancel = await call(`/v1/orders/${order.order.id}/cancel`, { method: "POST", headers });
      expect(cancel.status).toBe(404);
      const simulate = await call(`/dev/orders/${order.order.id}/simulate-payment`, { method: "POST", headers: { ...headers, "content-type": "application/json" }, body: "{}" });
      expect(simulate.status).toBe(404);
    }
    const malloryList = await json<{ data: { id: string }[]; page: unknown }>(await call("/v1/orders", { headers: bearer(mallory) }));
    expect(malloryList.data).toHaveLength(0);
    expect(malloryList.page).toEqual({ limit: 20, next_cursor: null, has_more: false });
    // The guest reads their own order with its token.
    expect((await call(`/v1/orders/${otherOrder.order.id}`, { headers: { "x-order-token": otherOrder.order_token } })).status).toBe(200);
  });

  it("a customer's order list pages newest first with page.next_cursor; a forged cursor is INVALID_CURSOR", async () => {
    const alice = await newUser();
    const ids: string[] = [];
    for (const sku of ["BK00057-PB", "BK00059-PB"]) {
      const cart = { token: null, headers: { authorization: `Bearer ${alice}` } };
      await add(cart, sku, 1);
      const placed = await checkout(cart, `page-${crypto.randomUUID()}`, { shipping_address: ADDRESS });
      expect(placed.status).toBe(201);
      ids.push((await json<CheckoutBody>(placed)).data.order.id);
    }
    type Page = { data: { id: string; number: string; item_count: number }[]; page: { limit: number; next_cursor: string | null; has_more: boolean } };
    const first = await json<Page>(await call("/v1/orders?limit=1", { headers: bearer(alice) }));
    expect(first.data.map((o) => o.id)).toEqual([ids[1]]);
    expect(first.data[0]?.item_count).toBe(1);
    expect(first.page.limit).toBe(1);
    expect(first.page.has_more).toBe(true);
    expect(first.page.next_cursor).toBeTruthy();
    const second = await json<Page>(await call(`/v1/orders?limit=1&cursor=${first.page.next_cursor ?? ""}`, { headers: bearer(alice) }));
    expect(second.data.map((o) => o.id)).toEqual([ids[0]]);
    expect(second.page).toEqual({ limit: 1, next_cursor: null, has_more: false });
    for (const query of ["cursor=abc", "cursor=-1", "limit=0", "limit=51"]) {
      const res = await call(`/v1/orders?${query}`, { headers: bearer(alice) });
      expect(res.status, query).toBe(400);
      expect((await json<ErrorBody>(res)).error.code, query).toBe(query.startsWith("cursor") ? "INVALID_CURSOR" : "INVALID_LIMIT");
    }
    const anonymous = await call("/v1/orders");
    expect(anonymous.status).toBe(401);
    expect((await json<ErrorBody>(anonymous)).error.code).toBe("AUTHENTICATION_REQUIRED");
  });

  it("a user's cart is theirs alone: another user sees their own (empty) cart, a guest token names only its own cart", async () => {
    const alice = await newUser();
    const mallory = await newUser();
    await add({ token: null, headers: { authorization: `Bearer ${alice}` } }, "BK00051-PB", 2);
    const seen = await json<{ data: { lines: unknown[] } }>(await call("/v1/cart", { headers: bearer(mallory) }));
    expect(seen.data.lines).toHaveLength(0);
    // A guest token cannot be turned into a user cart id: the signature covers the id and the prefix must be g-.
    const userCartToken = `u-00000000-0000-0000-0000-000000000000.${"A".repeat(43)}`;
    expect((await call("/v1/cart", { headers: { "x-cart-token": userCartToken } })).status).toBe(404);
  });
});

describe("API3: mass assignment on carts", () => {
  it("prices, versions, statuses and owners in cart bodies are rejected, not applied", async () => {
    const cart = await guestCart();
    for (const body of [{ sku: "BK00051-PB", quantity: 1, price: 1 }, { sku: "BK00051-PB", quantity: 1, status: "ordered" }, { sku: "BK00051-PB", quantity: 1, owner: "someone" }]) {
      const res = await call("/v1/cart/items", { method: "POST", headers: { ...cart.headers, "content-type": "application/json" }, body: JSON.stringify(body) });
      expect(res.status).toBe(400);
      expect((await json<ErrorBody>(res)).error.code).toBe("UNKNOWN_FIELD");
    }
    const view = await json<{ data: { lines: unknown[]; status: string } }>(await call("/v1/cart", { headers: cart.headers }));
    expect(view.data).toMatchObject({ lines: [], status: "open" });
  });
});
