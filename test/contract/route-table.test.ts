/**
 * The route table and the document are the same set of operations: every route the dev app serves (method ≠ ALL,
 * `:param` → `{param}`, HEAD implied by GET) is documented, and every documented operation is served.
 */
import { describe, expect, it } from "vitest";
import { OpenAPIHono, z } from "@hono/zod-openapi";
import { app, devApp } from "../../workers/app";
import { buildDocument } from "../../workers/platform/openapi-document";
import type { AppEnv } from "../../workers/platform/context";
import { apiRoute, ok } from "../../workers/platform/openapi";
import type { OpenApiDocument } from "../support/conformance";
import { compareRouteTable, openApiPath, routeOperations } from "./document-rules";

const docOf = (a: OpenAPIHono<AppEnv>, devRoutes: boolean) => buildDocument(a, { devRoutes }) as unknown as OpenApiDocument;

describe("route table ⇄ document", () => {
  it("the development app: every route is documented and every documented operation is served", () => {
    const { undocumented, phantom } = compareRouteTable(devApp.routes, docOf(devApp, true));
    expect({ undocumented, phantom }).toEqual({ undocumented: [], phantom: [] });
  });

  it("the deployed app: the same, and no /dev route at all", () => {
    const { undocumented, phantom } = compareRouteTable(app.routes, docOf(app, false));
    expect({ undocumented, phantom }).toEqual({ undocumented: [], phantom: [] });
    expect(routeOperations(app.routes).filter((o) => o.split(" ")[1]?.startsWith("/dev"))).toEqual([]);
  });
});

describe("the comparison catches drift", () => {
  it("converts Hono paths and ignores middleware and implied HEAD", () => {
    expect(openApiPath("/v1/orders/:id/cancel")).toBe("/v1/orders/{id}/cancel");
    expect(openApiPath("/v1/x/:id{[0-9]+}/y/:sku")).toBe("/v1/x/{id}/y/{sku}");
    expect(routeOperations([{ method: "ALL", path: "/*" }, { method: "GET", path: "/a/:id" }, { method: "HEAD", path: "/a/:id" }, { method: "GET", path: "/a/:id" }])).toEqual(["GET /a/{id}"]);
  });

  it("a plain route beside a declared one is undocumented; a documented path nothing serves is phantom", () => {
    const fixture = new OpenAPIHono<AppEnv>();
    fixture.openapi(
      apiRoute({ method: "get", path: "/things/{id}", tags: ["catalog"], summary: "A thing", request: { params: z.object({ id: z.string() }) }, responses: { 200: ok(z.object({ id: z.string() }), "The thing.") } }),
      (c) => c.json({ data: { id: c.req.valid("param").id } }, 200),
    );
    fixture.post("/things", (c) => c.json({ data: {} }, 201));
    const doc = docOf(fixture, false);
    (doc.paths ?? {})["/ghosts/{id}"] = { delete: { summary: "Nobody serves this" } };
    expect(compareRouteTable(fixture.routes, doc)).toEqual({ undocumented: ["POST /things"], phantom: ["DELETE /ghosts/{id}"] });
  });
});
