/**
 * OWASP API Security Top 10 (2023) checks that apply so far: BOLA/IDOR (API1) on addresses, broken authentication
 * (API2, see also test/worker/auth.test.ts), broken object property level authorization / mass assignment (API3),
 * unrestricted resource consumption (API4), broken function level authorization (API5) over every staff route.
 */
import { describe, expect, it } from "vitest";
import { app } from "../../workers/app";
import { call, json, postJson, sql } from "../worker/helpers";
import type { ErrorBody } from "../worker/helpers";

const run = crypto.randomUUID().slice(0, 8);
const PASSWORD = "vK9#qL2$wX7!zR4p-secure";

async function newUser(tag: string): Promise<{ id: string; token: string }> {
  const res = await postJson("/v1/auth/signup", { email: `${tag}-${run}@example.com`, password: PASSWORD });
  expect(res.status).toBe(201);
  const body = await json<{ access_token: string; user: { id: string } }>(res);
  return { id: body.user.id, token: body.access_token };
}

const authed = (token: string, init: RequestInit = {}): RequestInit => ({
  ...init,
  headers: { authorization: `Bearer ${token}`, "content-type": "application/json", ...(init.headers ?? {}) },
});

const ADDRESS = { name: "Ada Lovelace", line1: "12 St James's Square", city: "London", postal_code: "SW1Y 4JH", country: "GB", phone: "+442079460000" };

describe("API1 object level authorization (IDOR)", () => {
  it("answers 404 for another user's address on read, change and delete, and never lists it", async () => {
    const alice = await newUser("alice");
    const mallory = await newUser("mallory");
    const created = await call("/v1/me/addresses", authed(alice.token, { method: "POST", body: JSON.stringify(ADDRESS) }));
    expect(created.status).toBe(201);
    const addr = (await json<{ data: { id: string; default_shipping: boolean } }>(created)).data;
    expect(addr.default_shipping).toBe(true);

    const patch = await call(`/v1/me/addresses/${addr.id}`, authed(mallory.token, { method: "PATCH", body: JSON.stringify({ city: "Elsewhere" }) }));
    expect(patch.status).toBe(404);
    const del = await call(`/v1/me/addresses/${addr.id}`, authed(mallory.token, { method: "DELETE" }));
    expect(del.status).toBe(404);
    const list = await json<{ data: { id: string }[] }>(await call("/v1/me/addresses", authed(mallory.token)));
    expect(list.data.map((a) => a.id)).not.toContain(addr.id);
    const mine = await json<{ data: { id: string; city: string }[] }>(await call("/v1/me/addresses", authed(alice.token)));
    expect(mine.data.find((a) => a.id === addr.id)?.city).toBe("London");
  });

  it("stores phone numbers and addresses only encrypted, bound to their owner", async () => {
    const bob = await newUser("bob");
    await call("/v1/me", authed(bob.token, { method: "PATCH", body: JSON.stringify({ phone: "+14155550123", name: "Bob" }) }));
    const [row] = await sql<{ phone_enc: string }>("primary", "select phone_enc from users where id = $1", [bob.id]);
    expect(row?.phone_enc).toMatch(/^v1\.[a-z0-9]+\./);
    expect(row?.phone_enc).not.toContain("4155550123");
    const me = await json<{ data: { phone: string; name: string } }>(await call("/v1/me", authed(bob.token)));
    expect(me.data.phone).toBe("+14155550123");
    await call("/v1/me/addresses", authed(bob.token, { method: "POST", body: JSON.stringify(ADDRESS) }));
    const [addr] = await sql<{ data_enc: string }>("primary", "select data_enc from addresses where user_id = $1", [bob.id]);
    expect(addr?.data_enc).not.toContain("Lovelace");
    const audits = await sql<{ after: unknown }>("primary", "select after from audit_log where target_id = $1", [bob.id]);
    expect(JSON.stringify(audits)).not.toContain("4155550123");
  });
});

describe("API3 mass assignment", () => {
  it("rejects role, email_verified, status and id in profile and address bodies", async () => {
    const carol = await newUser("carol");
    for (const body of [{ role: "admin" }, { email_verified: true }, { status: "active", name: "x" }, { name: "x", id: "00000000-0000-0000-0000-000000000000" }]) {
      const res = await call("/v1/me", authed(carol.token, { method: "PATCH", body: JSON.stringify(body) }));
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect((await json<ErrorBody>(res)).error.code).toBe("UNKNOWN_FIELD");
    }
    const addr = await call("/v1/me/addresses", authed(carol.token, { method: "POST", body: JSON.stringify({ ...ADDRESS, user_id: carol.id }) }));
    expect(addr.status).toBe(400);
    const [row] = await sql<{ role: string }>("primary", "select role from users where id = $1", [carol.id]);
    expect(row?.role).toBe("customer");
  });
});

describe("API4 resource consumption", () => {
  it("caps addresses per account", async () => {
    const dave = await newUser("dave");
    for (let i = 0; i < 20; i++) {
      const res = await call("/v1/me/addresses", authed(dave.token, { method: "POST", body: JSON.stringify({ ...ADDRESS, label: `a${i}` }) }));
      expect(res.status).toBe(201);
    }
    const over = await call("/v1/me/addresses", authed(dave.token, { method: "POST", body: JSON.stringify(ADDRESS) }));
    expect(over.status).toBe(409);
    expect((await json<ErrorBody>(over)).error.code).toBe("TOO_MANY_ADDRESSES");
  });
});

describe("API5 function level authorization", () => {
  // Enumerates the app's own route table, so a staff route added later cannot be forgotten here.
  const staffRoutes = app.routes.filter((r) => r.path.startsWith("/v1/admin") && r.method !== "ALL");

  it("has staff routes to check", () => {
    expect(staffRoutes.length).toBeGreaterThan(0);
  });

  it("denies every staff route to anonymous callers (401) and customers (403)", async () => {
    const erin = await newUser("erin");
    for (const r of staffRoutes) {
      const path = r.path.replace(/:sku/g, "BK00001-PB").replace(/:[a-z_]+/g, "00000000-0000-0000-0000-000000000000");
      const init: RequestInit = { method: r.method, headers: { "content-type": "application/json" }, body: r.method === "GET" ? null : "{}" };
      const anon = await call(path, init);
      expect(anon.status, `${r.method} ${r.path} anonymous`).toBe(401);
      const customer = await call(path, authed(erin.token, init));
      expect(customer.status, `${r.method} ${r.path} customer`).toBe(403);
    }
  });
});
