/**
 * The conformance wiring inside workerd: `call()` checks every response against the document the Worker serves, and
 * a response that breaks it fails the calling test with the operation, status, problem and body.
 */
import { describe, expect, it } from "vitest";
import { call, deployedEnv, json } from "./helpers";
import { checkResponse, checkerFor, selfFetch } from "./conformance";

const jsonResponse = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json", "x-request-id": "r", "cache-control": "no-store", ...headers } });

describe("conformance wiring", () => {
  it("documented answers pass through call(), SELF and HEAD", async () => {
    expect((await call("/healthz")).status).toBe(200);
    expect((await call("/healthz", { method: "HEAD" })).status).toBe(200);
    expect((await call("/v1/products?limit=2")).status).toBe(200);
    expect((await call("/v1/products?limit=999")).status).toBe(400);
    expect((await call("/nowhere")).status).toBe(404);
    expect((await call("/healthz", { method: "DELETE" })).status).toBe(405);
    expect((await selfFetch("http://nexusbooks.test/v1/categories")).status).toBe(200);
  });

  it("a deployed environment is checked against the deployed document (no /dev routes)", async () => {
    const res = await call("/dev/db/ping", {}, deployedEnv("staging"));
    expect(res.status).toBe(404);
    expect((await json<{ error: { code: string } }>(res)).error.code).toBe("ROUTE_NOT_FOUND");
    expect(checkerFor("staging").findOperation("GET", "/dev/db/ping").kind).toBe("no-path");
    expect(checkerFor("test").findOperation("GET", "/dev/db/ping").kind).toBe("operation");
  });

  it("an undocumented field, status, error code or type fails with a readable message", async () => {
    const req = { url: "http://nexusbooks.test/healthz" };
    await expect(checkResponse(req, jsonResponse(200, { data: { status: "ok", build: "abc" } }))).rejects.toThrow(
      /GET \/healthz → 200 \(operation GET \/healthz\)\n {2}- schema: #\/data: undocumented field build\n {2}body: \{"data":\{"status":"ok","build":"abc"\}\}/,
    );
    await expect(checkResponse(req, jsonResponse(202, { data: { status: "ok" } }))).rejects.toThrow(/status 202 is not documented/);
    await expect(
      checkResponse({ url: "http://nexusbooks.test/v1/products/x" }, jsonResponse(404, { error: { code: "ORDER_NOT_FOUND", message: "m", details: null, request_id: "r" } })),
    ).rejects.toThrow(/error code ORDER_NOT_FOUND is not in the operation's x-error-codes/);
    await expect(checkResponse(req, jsonResponse(200, { data: { status: true } }))).rejects.toThrow(/#\/data\/status: Instance type "boolean" is invalid/);
  });

  it("the response is still readable by the test after the check", async () => {
    const res = await call("/healthz");
    expect(await json(res)).toEqual({ data: { status: "ok" } });
  });
});
