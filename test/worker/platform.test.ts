import { describe, expect, it } from "vitest";
import { env } from "cloudflare:test";
import { call, json, patchVariant, sql } from "./helpers";
import { DbRouter } from "../../workers/platform/db";
import { getConfig } from "../../workers/platform/config";
import { createLogger } from "../../workers/platform/logger";
import { pruneExpired } from "../../workers/platform/retention";
import type { ErrorBody } from "./helpers";

describe("platform", () => {
  it("answers /healthz with request and trace ids and secure headers", async () => {
    const res = await call("/healthz", { headers: { traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01" } });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ data: { status: "ok" } });
    expect(res.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
    expect(res.headers.get("x-trace-id")).toBe("0af7651916cd43dd8448eb211c80319c");
    expect(res.headers.get("strict-transport-security")).toContain("max-age=");
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    expect(res.headers.get("x-frame-options")).toBe("DENY");
    expect(res.headers.get("content-security-policy")).toContain("default-src 'none'");
  });

  it("keeps a well-formed incoming request id and replaces a malformed one", async () => {
    const kept = await call("/healthz", { headers: { "x-request-id": "edge-1234567890" } });
    expect(kept.headers.get("x-request-id")).toBe("edge-1234567890");
    const replaced = await call("/healthz", { headers: { "x-request-id": "bad id with spaces" } });
    expect(replaced.headers.get("x-request-id")).not.toBe("bad id with spaces");
  });

  it("offers the bench's database round trip outside production, and nothing else on it", async () => {
    const res = await call("/dev/db/ping");
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ data: { one: 1, source: "replica" } });
    const extra = await call("/dev/db/ping?q=select");
    expect(extra.status).toBe(400);
    expect((await json<ErrorBody>(extra)).error.code).toBe("UNKNOWN_PARAMETER");
  });

  it("answers unknown routes with 404 ROUTE_NOT_FOUND in the envelope", async () => {
    const res = await call("/nope");
    expect(res.status).toBe(404);
    const body = await json<ErrorBody>(res);
    expect(body.error.code).toBe("ROUTE_NOT_FOUND");
    expect(body.error.request_id).toBe(res.headers.get("x-request-id"));
    expect(body.error).toHaveProperty("details");
  });

  it("answers a wrong method with 405 and an Allow header", async () => {
    const res = await call("/v1/products", { method: "DELETE" });
    expect(res.status).toBe(405);
    expect(res.headers.get("allow")).toContain("GET");
    expect((await json<ErrorBody>(res)).error.code).toBe("METHOD_NOT_ALLOWED");
  });

  it("allows CORS only for configured origins", async () => {
    const ok = await call("/v1/categories", { method: "OPTIONS", headers: { origin: "http://localhost:3000", "access-control-request-method": "GET" } });
    expect(ok.headers.get("access-control-allow-origin")).toBe("http://localhost:3000");
    const denied = await call("/v1/categories", { method: "OPTIONS", headers: { origin: "https://evil.example", "access-control-request-method": "GET" } });
    expect(denied.headers.get("access-control-allow-origin")).toBeNull();
  });

  it("rejects bodies over the size cap with 413 before touching anything", async () => {
    const big = JSON.stringify({ price_override: 100, pad: "x".repeat(70_000) });
    const res = await patchVariant("BK00001-PB", JSON.parse(big));
    expect(res.status).toBe(413);
    expect((await json<ErrorBody>(res)).error.code).toBe("PAYLOAD_TOO_LARGE");
  });

  it("rejects malformed JSON, unknown fields and wrong types in the envelope", async () => {
    const malformed = await call("/v1/admin/variants/BK00001-PB", {
      method: "PATCH",
      headers: { "content-type": "application/json", authorization: `Bearer ${"local-admin-token-change-me-0123456789abcdef"}` },
      body: "{not json",
    });
    expect(malformed.status).toBe(400);
    expect((await json<ErrorBody>(malformed)).error.code).toBe("MALFORMED_REQUEST");
    const unknown = await patchVariant("BK00001-PB", { price_override: 100, role: "admin" });
    expect(unknown.status).toBe(400);
    const ub = await json<ErrorBody>(unknown);
    expect(ub.error.code).toBe("UNKNOWN_FIELD");
    expect(JSON.stringify(ub.error.details)).toContain("role");
    const wrongType = await patchVariant("BK00001-PB", { price_override: 12.5 });
    expect(wrongType.status).toBe(400);
    expect((await json<ErrorBody>(wrongType)).error.code).toBe("VALIDATION_FAILED");
    const negative = await patchVariant("BK00001-PB", { price_override: -1 });
    expect(negative.status).toBe(400);
  });

  it("requires staff credentials for admin routes", async () => {
    const res = await call("/v1/admin/variants/BK00001-PB", { method: "PATCH", headers: { "content-type": "application/json" }, body: "{}" });
    expect(res.status).toBe(401);
    expect((await json<ErrorBody>(res)).error.code).toBe("UNAUTHORIZED");
    const wrong = await call("/v1/admin/variants/BK00001-PB", {
      method: "PATCH",
      headers: { "content-type": "application/json", authorization: "Bearer wrong-token" },
      body: JSON.stringify({ price_override: 1 }),
    });
    expect(wrong.status).toBe(401);
  });

  it("names a missing secret at start-up instead of failing obscurely", async () => {
    const res = await call("/healthz", {}, { DATABASE_URL: undefined as unknown as string, COOKIE_SECRET: "short" });
    expect(res.status).toBe(500);
    const body = await json<ErrorBody>(res);
    expect(body.error.code).toBe("CONFIG_INVALID");
    expect(body.error.message).toContain("DATABASE_URL is missing");
    expect(body.error.message).toContain("COOKIE_SECRET");
  });

  it("prunes dispatched outbox rows and applied search jobs after 7 days, and nothing else", async () => {
    const tag = `retention-${crypto.randomUUID()}`;
    const rows = await sql<{ id: string; kind: string }>(
      "primary",
      `insert into outbox (queue, task_name, payload, created_at, dispatched_at) values
         ($1, 'old-dispatched', '{}', now() - interval '9 days', now() - interval '8 days'),
         ($1, 'old-pending', '{}', now() - interval '9 days', null),
         ($1, 'recent-dispatched', '{}', now() - interval '2 days', now() - interval '2 days')
       returning id::text, task_name as kind`,
      [tag],
    );
    const jobs = [crypto.randomUUID(), crypto.randomUUID()];
    await sql("primary", `insert into search_index_jobs (job_id, product_id, processed_at) values ($1, null, now() - interval '8 days'), ($2, null, now() - interval '1 day')`, jobs);
    const config = getConfig(env);
    const db = new DbRouter(config, createLogger("warn", {}));
    try {
      const pruned = await db.write((primary) => pruneExpired(primary));
      expect(pruned.outbox).toBeGreaterThanOrEqual(1);
      expect(pruned.search_index_jobs).toBeGreaterThanOrEqual(1);
    } finally {
      await db.end();
    }
    const left = await sql<{ kind: string }>("primary", "select task_name as kind from outbox where queue = $1 order by task_name", [tag]);
    expect(left.map((r) => r.kind)).toEqual(["old-pending", "recent-dispatched"]);
    const leftJobs = await sql<{ job_id: string }>("primary", "select job_id::text from search_index_jobs where job_id = any($1::uuid[])", [jobs]);
    expect(leftJobs.map((r) => r.job_id)).toEqual([jobs[1]]);
    expect(rows).toHaveLength(3);
    // The never-dispatched row is the sweep's to send, not ours to delete; clean it up so no sweep sends it.
    await sql("primary", "delete from outbox where queue = $1", [tag]);
  });
});
