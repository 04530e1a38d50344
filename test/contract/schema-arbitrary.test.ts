/**
 * The JSON Schema → fast-check generator: what it calls valid is valid (for fixture schemas and for every request
 * schema of the real document), and what it calls a wrong type is refused.
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { devApp } from "../../workers/app";
import { buildDocument } from "../../workers/platform/openapi-document";
import { ConformanceChecker, HTTP_METHODS } from "../support/conformance";
import type { JsonSchema, OpenApiDocument } from "../support/conformance";
import { NO_WRONG_TYPE, valueArbitrary, wrongTypeArbitrary } from "../support/schema-arbitrary";

const fixtureDoc: OpenApiDocument = {
  components: { schemas: { Money: { type: "object", properties: { amount: { type: "integer", minimum: 0 }, currency: { type: "string", minLength: 3, maxLength: 3 } }, required: ["amount", "currency"], additionalProperties: false } } },
};
const SCHEMAS: Record<string, JsonSchema> = {
  pattern: { type: "string", pattern: "^[A-Z0-9][A-Z0-9-]{1,63}$" },
  unicodePattern: { type: "string", maxLength: 20, pattern: "^[^\\p{Cc}\\p{Cs}]*$" },
  enum: { type: "string", enum: ["a", "b"] },
  lengths: { type: "string", minLength: 2, maxLength: 4 },
  uuid: { type: "string", format: "uuid" },
  email: { type: "string", format: "email", maxLength: 254 },
  dateTime: { type: "string", format: "date-time" },
  integer: { type: "integer", minimum: 1, maximum: 50 },
  exclusive: { type: "number", exclusiveMinimum: 0, exclusiveMaximum: 1 },
  nullable: { type: ["integer", "null"], minimum: 0, maximum: 100 },
  anyOf: { anyOf: [{ type: "string", maxLength: 3 }, { type: "array", items: { type: "string" }, maxItems: 3 }] },
  oneOf: { oneOf: [{ type: "object", properties: { kind: { const: "a" } }, required: ["kind"], additionalProperties: false }, { type: "object", properties: { kind: { const: "b" }, n: { type: "integer" } }, required: ["kind", "n"], additionalProperties: false }] },
  ref: { type: "object", properties: { price: { $ref: "#/components/schemas/Money" }, tags: { type: "array", items: { type: "string" }, minItems: 1, maxItems: 2 } }, required: ["price"], additionalProperties: false },
  boolean: { type: "boolean" },
};

describe("valid values validate", () => {
  const checker = new ConformanceChecker(fixtureDoc);
  it.each(Object.entries(SCHEMAS))("%s", (name, schema) => {
    for (const value of fc.sample(valueArbitrary(schema, { doc: fixtureDoc }), { seed: 42, numRuns: 150 })) {
      expect(checker.validate(schema, value, { asis: true, cacheKey: name }), JSON.stringify(value)).toEqual([]);
    }
  });

  it("wrong types are refused", () => {
    for (const [name, schema] of Object.entries(SCHEMAS)) {
      if (name === "anyOf" || name === "oneOf") continue;
      for (const value of fc.sample(wrongTypeArbitrary(schema, fixtureDoc), { seed: 7, numRuns: 30 })) {
        if (value === NO_WRONG_TYPE) continue;
        expect(checker.validate(schema, value, { asis: true, cacheKey: name }).length, `${name}: ${JSON.stringify(value)}`).toBeGreaterThan(0);
      }
    }
  });

  it("fixtures are mixed in, or used alone for exclusive names", () => {
    const ctx = { doc: fixtureDoc, fixtures: (n: string) => (n === "sku" ? ["BK00001-PB"] : undefined), exclusive: (n: string) => n === "n" };
    expect(fc.sample(valueArbitrary(SCHEMAS.pattern, ctx, "sku"), { seed: 1, numRuns: 100 })).toContain("BK00001-PB");
    expect(new Set(fc.sample(valueArbitrary({ type: "string" }, { ...ctx, fixtures: () => ["3"] }, "n"), { seed: 1, numRuns: 50 }))).toEqual(new Set(["3"]));
  });
});

describe("every request schema of the document", () => {
  const doc = buildDocument(devApp, { devRoutes: true }) as unknown as OpenApiDocument;
  const checker = new ConformanceChecker(doc);
  const schemas: [string, JsonSchema][] = [];
  for (const [path, item] of Object.entries(doc.paths ?? {})) {
    for (const m of HTTP_METHODS) {
      const op = item[m];
      if (!op) continue;
      for (const p of op.parameters ?? []) if (p.schema) schemas.push([`${m.toUpperCase()} ${path} ${p.in} ${p.name}`, p.schema]);
      const body = op.requestBody?.content?.["application/json"]?.schema;
      if (body) schemas.push([`${m.toUpperCase()} ${path} body`, body]);
    }
  }

  it.each(schemas)("%s: generated values are valid", (label, schema) => {
    // Query and path values travel as text; the generator makes them from the schema's own type.
    for (const value of fc.sample(valueArbitrary(schema, { doc }), { seed: 3, numRuns: 60 })) {
      expect(checker.validate(schema, value, { asis: true, cacheKey: label }), `${label}: ${JSON.stringify(value)}`).toEqual([]);
    }
  });
});
