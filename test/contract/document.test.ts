/**
 * The generated OpenAPI document is a valid OpenAPI 3.1 document, and every operation follows the house rules:
 * a summary, one known tag, a 2xx response, x-error-codes from the registry whose statuses are exactly the documented
 * error responses, each of them the envelope of its codes; no /dev route or tag in the deployed document.
 */
import { describe, expect, it } from "vitest";
import { Validator } from "@seriousme/openapi-schema-validator";
import { app, devApp } from "../../workers/app";
import { buildDocument } from "../../workers/platform/openapi-document";
import { ERROR_CODES } from "../../workers/platform/error-codes";
import type { OpenApiDocument } from "../support/conformance";
import { deployedProblems, documentProblems, expectedEnvelope } from "./document-rules";

const devDoc = buildDocument(devApp, { devRoutes: true }) as unknown as OpenApiDocument;
const deployedDoc = buildDocument(app, { devRoutes: false }) as unknown as OpenApiDocument;
const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

describe("the generated document", () => {
  it.each([
    ["development", devDoc],
    ["deployed", deployedDoc],
  ])("the %s document is valid OpenAPI 3.1", async (_name, doc) => {
    const validator = new Validator();
    const result = await validator.validate(clone(doc) as unknown as Record<string, unknown>);
    expect(result.errors ?? [], JSON.stringify(result.errors, null, 2)).toEqual([]);
    expect(result.valid).toBe(true);
    expect(validator.version).toBe("3.1");
  });

  it("every operation follows the rules (summary, tag, 2xx, registered codes, envelope per error status, patterns)", () => {
    expect(documentProblems(devDoc, ERROR_CODES)).toEqual([]);
  });

  it("the deployed document has no /dev path and no dev tag; the development one has both", () => {
    expect(deployedProblems(deployedDoc)).toEqual([]);
    expect(deployedProblems(devDoc).length).toBeGreaterThan(0);
    expect(deployedDoc["x-error-registry"]).toEqual(ERROR_CODES);
  });

  it("is the same document every time it is generated", () => {
    expect(JSON.stringify(buildDocument(devApp, { devRoutes: true }))).toBe(JSON.stringify(devDoc));
  });
});

describe("the rules catch broken documents", () => {
  const op = (doc: OpenApiDocument) => {
    const o = doc.paths?.["/v1/products/{slug}"]?.get;
    if (!o) throw new Error("fixture: GET /v1/products/{slug} is not in the document");
    return o;
  };
  const broken = (mutate: (doc: OpenApiDocument) => void): string[] => {
    const doc = clone(devDoc);
    mutate(doc);
    return documentProblems(doc, ERROR_CODES);
  };

  it("a missing summary, a second tag, an unknown tag, no 2xx", () => {
    expect(broken((d) => void (op(d).summary = " "))).toContain("GET /v1/products/{slug}: no summary");
    expect(broken((d) => void (op(d).tags = ["catalog", "search"]))).toContain('GET /v1/products/{slug}: needs exactly one tag, has ["catalog","search"]');
    expect(broken((d) => void (op(d).tags = ["shop"]))).toContain("GET /v1/products/{slug}: tag shop is not in the document's tag list");
    expect(
      broken((d) => {
        delete op(d).responses?.["200"];
      }),
    ).toContain("GET /v1/products/{slug}: no 2xx response");
  });

  it("an unregistered code, a code without its status, a status without codes, a wrong envelope", () => {
    expect(broken((d) => op(d)["x-error-codes"]?.push("TEAPOT"))).toContain("GET /v1/products/{slug}: x-error-codes has TEAPOT, which is not in the error-code registry");
    expect(broken((d) => op(d)["x-error-codes"]?.push("CART_FULL"))).toContain("GET /v1/products/{slug}: codes CART_FULL have status 422, which is not documented");
    expect(
      broken((d) => {
        const r = op(d).responses ?? {};
        r["409"] = r["404"] ?? {};
      }),
    ).toContain("GET /v1/products/{slug}: documents 409, but none of its x-error-codes has that status");
    const wrongEnum = broken((d) => {
      const schema = op(d).responses?.["404"]?.content?.["application/json"]?.schema;
      (((schema as { properties: { error: { properties: { code: { enum: string[] } } } } }).properties.error.properties.code.enum)).push("CART_FULL");
    });
    expect(wrongEnum.some((p) => p.startsWith("GET /v1/products/{slug}: 404 is not the error envelope of exactly PRODUCT_NOT_FOUND"))).toBe(true);
    const notEnvelope = broken((d) => {
      const content = op(d).responses?.["404"]?.content;
      if (content) content["application/json"] = { schema: { type: "object", properties: { data: {} } } };
    });
    expect(notEnvelope.some((p) => p.includes("404 is not the error envelope"))).toBe(true);
    expect(expectedEnvelope(["B", "A"])).toMatchObject({ properties: { error: { properties: { code: { enum: ["A", "B"] } } } } });
  });

  it("an undeclared path parameter, a staff operation without staff security, a pattern with flags", () => {
    expect(
      broken((d) => {
        op(d).parameters = (op(d).parameters ?? []).filter((p) => p.in !== "path");
      }),
    ).toContain("GET /v1/products/{slug}: path parameter {slug} is not declared");
    expect(
      broken((d) => {
        const paths = d.paths ?? {};
        paths["/v1/admin/fixture"] = { get: { ...op(d), parameters: [], security: [] } };
      }),
    ).toEqual(expect.arrayContaining(["GET /v1/admin/fixture: staff operation without staffAuth security"]));
    expect(
      broken((d) => {
        const param = (op(d).parameters ?? []).find((p) => p.in === "path");
        if (param) param.schema = { type: "string", pattern: "^[a-z]+$/u" };
      }).some((p) => p.includes("ends in regex flags")),
    ).toBe(true);
  });

  it("a nullable $ref that null can never satisfy (zod-to-openapi's X.nullable() for a schema with an id)", () => {
    const problems = broken((d) => {
      const schema = op(d).responses?.["200"]?.content?.["application/json"]?.schema as { properties: Record<string, unknown> };
      schema.properties.data = { allOf: [{ $ref: "#/components/schemas/ProductDetail" }, { type: ["object", "null"] }] };
    });
    expect(problems.filter((p) => p.includes("never accepts null"))).toEqual([
      expect.stringMatching(/^#\/paths\/\/v1\/products\/\{slug\}\/get\/responses\/200\/content\/application\/json\/schema\/properties\/data: /),
    ]);
  });

  it("a deployed document with a /dev path or the dev tag", () => {
    const doc = clone(deployedDoc);
    (doc.paths ?? {})["/dev/db/ping"] = devDoc.paths?.["/dev/db/ping"] ?? {};
    doc.tags = [...(doc.tags ?? []), { name: "dev" }];
    expect(deployedProblems(doc)).toEqual(["deployed document has /dev/db/ping", "deployed document lists the dev tag", "deployed document has GET /dev/db/ping tagged dev"]);
  });
});
