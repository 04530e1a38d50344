/**
 * Attack probes against stock adjustment and availability, by OWASP API Security Top 10 (2023) item. Every refused
 * request must change nothing: the StockDO's count, the ledger in Postgres and the audit log stay as they were.
 */
import { describe, expect, it } from "vitest";
import { ADMIN_TOKEN, call, json, nextIp, sql } from "../worker/helpers";
import type { ErrorBody } from "../worker/helpers";
import { registerAndLogin } from "../worker/accounts-helpers";

const staff = { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" };
const newKey = () => `adj-${crypto.randomUUID()}`;

function adjust(sku: string, body: unknown, headers: Record<string, string> = staff, key: string | null = newKey()): Promise<Response> {
  return call(`/v1/admin/inventory/${sku}/adjust`, {
    method: "POST",
    headers: { ...headers, ...(key === null ? {} : { "idempotency-key": key }), "cf-connecting-ip": nextIp() },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

interface Snapshot {
  on_hand: number;
  held: number;
  available: number;
}

async function snapshot(sku: string): Promise<Snapshot> {
  const res = await call(`/v1/admin/inventory/${sku}`, { headers: staff });
  expect(res.status).toBe(200);
  return (await json<{ data: Snapshot }>(res)).data;
}

async function counts(sku: string): Promise<{ movements: number; audits: number }> {
  const [m] = await sql<{ n: string }>("primary", "select count(*) as n from inventory_movements where sku = $1", [sku]);
  const [a] = await sql<{ n: string }>("primary", "select count(*) as n from audit_log where action = 'inventory.adjust' and target_id = $1", [sku]);
  return { movements: Number(m?.n), audits: Number(a?.n) };
}

async function eventually<T>(read: () => Promise<T>, ok: (v: T) => boolean, ms = 15_000): Promise<T> {
  const deadline = Date.now() + ms;
  let v = await read();
  while (!ok(v) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 200));
    v = await read();
  }
  return v;
}

/** A signed-in shopper (sign-up answers 202 with no session since the sign-up enumeration fix: sign in after it). */
async function shopperToken(): Promise<string> {
  const { body } = await registerAndLogin(`stock-${crypto.randomUUID().slice(0, 8)}@example.com`, "vK9#qL2$wX7!zR4p-secure");
  return body.access_token;
}

describe("API2/API5: only staff adjust stock or read exact counts", () => {
  it("no credentials → 401, a shopper → 403, and nothing moves", async () => {
    const sku = "BK00061-PB";
    const before = await snapshot(sku);
    const anon = await adjust(sku, { delta: 5, reason: "restock" }, { "content-type": "application/json" });
    expect(anon.status).toBe(401);
    const shopper = await shopperToken();
    const asShopper = await adjust(sku, { delta: 5, reason: "restock" }, { authorization: `Bearer ${shopper}`, "content-type": "application/json" });
    expect(asShopper.status).toBe(403);
    expect((await call(`/v1/admin/inventory/${sku}`, { headers: { authorization: `Bearer ${shopper}` } })).status).toBe(403);
    expect(await snapshot(sku)).toEqual(before);
  });
});

describe("API3: object properties", () => {
  it("unknown fields are refused (no mass assignment of on_hand or actor)", async () => {
    const sku = "BK00061-PB";
    const before = await snapshot(sku);
    for (const body of [{ delta: 1, reason: "restock", on_hand: 999 }, { delta: 1, reason: "restock", actor: "someone-else" }]) {
      const res = await adjust(sku, body);
      expect(res.status).toBe(400);
      expect((await json<ErrorBody>(res)).error.code).toBe("UNKNOWN_FIELD");
    }
    expect(await snapshot(sku)).toEqual(before);
  });

  it("anonymous product reads carry availability levels, never stock counts", async () => {
    const [row] = await sql<{ slug: string }>("primary", "select p.slug from products p join variants v on v.product_id = p.id where v.sku = 'BK00061-PB'");
    const res = await call(`/v1/products/${row?.slug ?? ""}`);
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).not.toMatch(/"available"|"on_hand"|"onHand"|"reserved"|"held"/);
    expect(text).toMatch(/"availability":"(in_stock|low_stock|out_of_stock)"/);
  });
});

describe("API4: bounded input", () => {
  it("refuses zero, fractional and huge deltas, long notes and bad keys with 400", async () => {
    const sku = "BK00062-PB";
    const before = await snapshot(sku);
    const bad: [unknown, string | null, string][] = [
      [{ delta: 0, reason: "restock" }, newKey(), "INVALID_DELTA"],
      [{ delta: 1.5, reason: "restock" }, newKey(), "INVALID_DELTA"],
      [{ delta: 1_000_001, reason: "restock" }, newKey(), "INVALID_DELTA"],
      [{ delta: 1, reason: "gift" }, newKey(), "INVALID_REASON"],
      [{ delta: 1, reason: "restock", note: "x".repeat(201) }, newKey(), "INVALID_NOTE"],
      [{ delta: 1, reason: "restock" }, null, "IDEMPOTENCY_KEY_REQUIRED"],
      [{ delta: 1, reason: "restock" }, "short", "IDEMPOTENCY_KEY_REQUIRED"],
      [{ delta: 1, reason: "restock" }, "k".repeat(101), "IDEMPOTENCY_KEY_REQUIRED"],
    ];
    for (const [body, key, code] of bad) {
      const res = await adjust(sku, body, staff, key);
      expect(res.status, JSON.stringify(body)).toBe(400);
      const err = await json<ErrorBody>(res);
      expect(err.error.code, JSON.stringify(body)).toBe(code);
      expect(err.error.request_id).toBeTruthy();
    }
    expect(await snapshot(sku)).toEqual(before);
  });
});

describe("API6: the adjustment flow cannot be repeated or rewritten", () => {
  it("a replay answers the first result once applied (Idempotent-Replayed), a changed body with the same key is 422", async () => {
    const sku = "BK00062-PB";
    const before = await snapshot(sku);
    const start = await counts(sku);
    const key = newKey();
    const body = { delta: 3, reason: "restock", note: "PO 4471 — carton 2/3" };
    const first = await adjust(sku, body, staff, key);
    expect(first.status).toBe(200);
    expect(first.headers.get("idempotent-replayed")).toBeNull();
    const firstBody = await json<{ data: { on_hand: number; movement_id: string } }>(first);
    expect(firstBody.data.on_hand).toBe(before.on_hand + 3);

    const again = await Promise.all([adjust(sku, body, staff, key), adjust(sku, body, staff, key)]);
    for (const r of again) {
      expect(r.status).toBe(200);
      expect(r.headers.get("idempotent-replayed")).toBe("true");
      expect(await json(r)).toEqual(firstBody);
    }
    const changed = await adjust(sku, { ...body, delta: 30 }, staff, key);
    expect(changed.status).toBe(422);
    expect((await json<ErrorBody>(changed)).error.code).toBe("IDEMPOTENCY_KEY_REUSED");
    expect((await snapshot(sku)).on_hand).toBe(before.on_hand + 3);

    // One movement and one audit row, written together by the inventory consumer, carrying actor and note.
    const end = await eventually(() => counts(sku), (c) => c.movements === start.movements + 1 && c.audits === start.audits + 1);
    expect(end).toEqual({ movements: start.movements + 1, audits: start.audits + 1 });
    const [audit] = await sql<{ actor_role: string; after: { movement_id: string; note: string; delta: number; idempotency_key: string } }>(
      "primary",
      "select actor_role, after from audit_log where action = 'inventory.adjust' and target_id = $1 and after->>'idempotency_key' = $2",
      [sku, key],
    );
    expect(audit?.after).toMatchObject({ movement_id: firstBody.data.movement_id, note: body.note, delta: 3 });
    expect(audit?.actor_role).toBeTruthy();
    const [movement] = await sql<{ id: string }>("primary", "select id from inventory_movements where id = $1", [firstBody.data.movement_id]);
    expect(movement?.id).toBe(firstBody.data.movement_id);
  });
});

describe("API6: concurrent retries of one adjustment", () => {
  it("ten concurrent first sends of one key apply once; nine answer Idempotent-Replayed with the same result", async () => {
    const sku = "BK00064-PB";
    const before = await snapshot(sku);
    const key = newKey();
    const body = { delta: 2, reason: "return" };
    const all = await Promise.all(Array.from({ length: 10 }, () => adjust(sku, body, staff, key)));
    expect(all.map((r) => r.status)).toEqual(Array.from({ length: 10 }, () => 200));
    expect(all.filter((r) => r.headers.get("idempotent-replayed") === "true")).toHaveLength(9);
    const bodies = await Promise.all(all.map((r) => r.text()));
    expect(new Set(bodies).size).toBe(1);
    expect((await snapshot(sku)).on_hand).toBe(before.on_hand + 2);
  });
});

describe("API8: hostile text is refused before any effect", () => {
  it.each([
    ["a NUL byte", "restock\u0000 then more"],
    ["a bell", "ring\u0007"],
    ["a newline", "two\nlines"],
    ["a C1 control", "x\u0085y"],
    ["a lone surrogate", "half \ud800 a pair"],
  ])("a note with %s is 400 INVALID_NOTE and moves nothing", async (_what, note) => {
    const sku = "BK00063-PB";
    const before = await snapshot(sku);
    const start = await counts(sku);
    const res = await adjust(sku, { delta: 7, reason: "restock", note });
    expect(res.status).toBe(400);
    expect((await json<ErrorBody>(res)).error.code).toBe("INVALID_NOTE");
    expect(await snapshot(sku)).toEqual(before);
    expect((await snapshot(sku)).on_hand).toBe(before.on_hand);
    expect(await counts(sku)).toEqual(start);
  });

  it("a malformed JSON body is 400 and moves nothing", async () => {
    const sku = "BK00063-PB";
    const before = await snapshot(sku);
    const res = await adjust(sku, '{"delta": 7, "reason": "restock"');
    expect(res.status).toBe(400);
    expect(await snapshot(sku)).toEqual(before);
  });
});
