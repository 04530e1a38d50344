/**
 * The fuzzer against a deliberately broken server: a tiny HTTP API with its own (hand-written) document whose
 * handlers crash on odd text, leak an undocumented field, accept bodies the document refuses and change state while
 * doing so. Each of those must show up in the report; a correct server must come out clean.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createServer } from "node:http";
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { OpenApiDocument } from "../support/conformance";
import { formatReport, fuzz } from "./fuzz";
import type { FuzzOptions } from "./fuzz";

const envelope = (codes: string[]) => ({
  type: "object",
  properties: { error: { type: "object", properties: { code: { type: "string", enum: codes }, message: { type: "string" }, details: {}, request_id: { type: ["string", "null"] } }, required: ["code", "message", "request_id"] } },
  required: ["error"],
});
const errorResponse = (codes: string[]) => ({ description: codes.join(", "), content: { "application/json": { schema: envelope(codes) } } });

const DOC: OpenApiDocument = {
  openapi: "3.1.0",
  tags: [{ name: "things" }],
  "x-error-registry": { VALIDATION_FAILED: { status: 400 }, UNKNOWN_FIELD: { status: 400 }, MALFORMED_REQUEST: { status: 400 }, NOT_FOUND: { status: 404 }, UNSUPPORTED_MEDIA_TYPE: { status: 415 }, ROUTE_NOT_FOUND: { status: 404 }, METHOD_NOT_ALLOWED: { status: 405 } },
  paths: {
    "/things/{name}": {
      get: {
        summary: "A thing",
        tags: ["things"],
        parameters: [{ name: "name", in: "path", required: true, schema: { type: "string", maxLength: 40 } }],
        responses: {
          200: { description: "ok", content: { "application/json": { schema: { type: "object", properties: { data: { type: "object", properties: { name: { type: "string" } }, required: ["name"] } }, required: ["data"] } } } },
          400: errorResponse(["VALIDATION_FAILED"]),
          404: errorResponse(["NOT_FOUND"]),
        },
        "x-error-codes": ["NOT_FOUND", "VALIDATION_FAILED"],
      },
    },
    "/things": {
      post: {
        summary: "Make a thing",
        tags: ["things"],
        requestBody: { required: true, content: { "application/json": { schema: { type: "object", properties: { name: { type: "string", minLength: 1, maxLength: 5 }, qty: { type: "integer", minimum: 1, maximum: 3 } }, required: ["name", "qty"], additionalProperties: false } } } },
        responses: {
          201: { description: "made", content: { "application/json": { schema: { type: "object", properties: { data: { type: "object", properties: { count: { type: "integer" } }, required: ["count"] } }, required: ["data"] } } } },
          400: errorResponse(["MALFORMED_REQUEST", "UNKNOWN_FIELD", "VALIDATION_FAILED"]),
          415: errorResponse(["UNSUPPORTED_MEDIA_TYPE"]),
        },
        "x-error-codes": ["MALFORMED_REQUEST", "UNKNOWN_FIELD", "UNSUPPORTED_MEDIA_TYPE", "VALIDATION_FAILED"],
      },
    },
  },
};

interface Server$ {
  origin: string;
  state: { count: number };
  close(): Promise<void>;
}

/** A server for DOC; `broken` turns on its bugs. */
async function serve(broken: boolean): Promise<Server$> {
  const state = { count: 0 };
  const send = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { "content-type": "application/json" });
    res.end(JSON.stringify(body));
  };
  const fail = (res: ServerResponse, status: number, code: string) => send(res, status, { error: { code, message: code, details: null, request_id: null } });
  const handler = (req: IncomingMessage, res: ServerResponse, body: string) => {
    const url = new URL(req.url ?? "/", "http://x");
    const thing = /^\/things\/([^/]+)$/.exec(url.pathname);
    if (thing && (req.method === "GET" || req.method === "HEAD")) {
      let name: string;
      try {
        name = decodeURIComponent(thing[1] ?? "");
      } catch {
        return fail(res, 400, "VALIDATION_FAILED");
      }
      if (broken && /[^\x20-\x7e]/.test(name)) return fail(res, 500, "INTERNAL_ERROR");
      if (name.length > 40) return fail(res, 400, "VALIDATION_FAILED");
      return send(res, 200, { data: broken ? { name, internal_id: 7 } : { name } });
    }
    if (url.pathname === "/things" && req.method === "POST") {
      if ((req.headers["content-type"] ?? "").split(";")[0] !== "application/json") return fail(res, 415, "UNSUPPORTED_MEDIA_TYPE");
      let value: unknown;
      try {
        value = JSON.parse(body);
      } catch {
        return fail(res, 400, "MALFORMED_REQUEST");
      }
      const v = value as { name?: unknown; qty?: unknown };
      if (broken) {
        // Loose: counts anything with a name, whatever qty says (the bug: state changes on invalid input).
        if (typeof v?.name !== "string") return fail(res, 400, "VALIDATION_FAILED");
        state.count++;
        return send(res, 201, { data: { count: state.count } });
      }
      if (typeof value !== "object" || value === null || Array.isArray(value)) return fail(res, 400, "VALIDATION_FAILED");
      if (Object.keys(value).some((k) => k !== "name" && k !== "qty")) return fail(res, 400, "UNKNOWN_FIELD");
      if (typeof v.name !== "string" || v.name.length < 1 || v.name.length > 5 || !Number.isInteger(v.qty) || (v.qty as number) < 1 || (v.qty as number) > 3) return fail(res, 400, "VALIDATION_FAILED");
      state.count++;
      return send(res, 201, { data: { count: state.count } });
    }
    if (url.pathname === "/things" || thing) {
      res.setHeader("allow", url.pathname === "/things" ? "POST" : "GET, HEAD");
      return fail(res, 405, "METHOD_NOT_ALLOWED");
    }
    return fail(res, 404, "ROUTE_NOT_FOUND");
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => handler(req, res, Buffer.concat(chunks).toString("utf8")));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  return { origin: `http://127.0.0.1:${port}`, state, close: () => new Promise((r) => server.close(() => r())) };
}

const options = (s: Server$): FuzzOptions => ({
  origin: s.origin,
  doc: DOC,
  seed: 99,
  runs: 150,
  credentials: {},
  fixtures: { read: {}, write: {} },
  snapshot: async () => ({ count: s.state.count }),
  settleMs: 10,
});

describe("the fuzzer finds what is broken", () => {
  let good: Server$;
  let bad: Server$;
  beforeAll(async () => {
    good = await serve(false);
    bad = await serve(true);
  });
  afterAll(async () => {
    await good.close();
    await bad.close();
  });

  it("a correct server comes out clean", async () => {
    const report = await fuzz(options(good));
    expect(report.failures, formatReport(report)).toEqual([]);
    expect(report.stateChanges).toEqual([]);
    expect(report.perOperation["POST /things"]?.ok2xx).toBeGreaterThan(0);
    expect(report.perOperation["POST /things"]?.mustReject).toBeGreaterThan(20);
  });

  it("a broken one: 5xx on odd text, an undocumented field, invalid bodies accepted, state changed", async () => {
    const report = await fuzz(options(bad));
    const text = formatReport(report);
    const problems = report.failures.map((f) => `${f.operation} ${f.problem}`);
    expect(problems.some((p) => p.startsWith("GET /things/{name} answered 500 INTERNAL_ERROR")), text).toBe(true);
    expect(problems.some((p) => p.includes("undocumented field internal_id")), text).toBe(true);
    expect(problems.some((p) => p.startsWith("POST /things accepted (201) a request the document says is invalid")), text).toBe(true);
    expect(report.stateChanges, text).toEqual([expect.stringMatching(/^count: 0 → \d+$/)]);
    expect(text).toMatch(/seed 99/);
  });

  it("the same seed generates the same requests", async () => {
    const a = await fuzz({ ...options(good), runs: 20, snapshot: undefined });
    const b = await fuzz({ ...options(good), runs: 20, snapshot: undefined });
    expect(a.perOperation).toEqual(b.perOperation);
  });
});
