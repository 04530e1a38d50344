/**
 * JSON Schema (the subset the OpenAPI document uses) → fast-check arbitraries of valid values: objects (required
 * keys always, optional ones sometimes), strings with pattern / enum / min/maxLength / format uuid, email, date-time,
 * integers and numbers with (exclusive) bounds, booleans, arrays, nullable types (`type: [x, "null"]`), const,
 * anyOf / oneOf / allOf and `$ref` into the document's components. Plus the odd values the fuzzer breaks requests
 * with (wrong types, odd Unicode). Runtime-neutral.
 */
import fc from "fast-check";
import type { JsonSchema, OpenApiDocument } from "./conformance";

type SchemaObject = { [key: string]: unknown };

const isRecord = (v: unknown): v is SchemaObject => typeof v === "object" && v !== null && !Array.isArray(v);

export interface ArbitraryContext {
  doc: OpenApiDocument;
  /** Known good values for a property or parameter name (real slugs, SKUs …), mixed in with generated ones. */
  fixtures?: ((name: string) => readonly string[] | undefined) | undefined;
  /** Names whose valid values come only from the fixtures (e.g. a bench's iteration count). */
  exclusive?: ((name: string) => boolean) | undefined;
  /** Longest generated string when the schema sets no maxLength (default 24). */
  maxStringLength?: number;
}

/** Follows a `#/components/schemas/...` reference (and chains of them). */
export function resolveSchema(doc: OpenApiDocument, schema: JsonSchema | undefined, depth = 0): JsonSchema {
  if (!isRecord(schema) || typeof schema.$ref !== "string" || depth > 20) return schema ?? {};
  const name = decodeURIComponent(schema.$ref.replace(/^#\/components\/schemas\//, ""));
  const target = doc.components?.schemas?.[name];
  if (target === undefined) throw new Error(`unresolved $ref ${schema.$ref}`);
  const { $ref: _ref, ...siblings } = schema;
  const resolved = resolveSchema(doc, target, depth + 1);
  return Object.keys(siblings).length > 0 && isRecord(resolved) ? { ...resolved, ...siblings } : resolved;
}

/** The types a schema admits (its `type`, or every type when it says none). */
export function typesOf(schema: JsonSchema): string[] {
  if (!isRecord(schema)) return schema ? ["string", "number", "integer", "boolean", "object", "array", "null"] : [];
  if (Array.isArray(schema.type)) return schema.type as string[];
  if (typeof schema.type === "string") return [schema.type];
  if (Array.isArray(schema.enum)) return [...new Set((schema.enum as unknown[]).map((v) => (v === null ? "null" : Array.isArray(v) ? "array" : typeof v)))];
  if ("const" in schema) return [schema.const === null ? "null" : typeof schema.const];
  if (isRecord(schema.properties)) return ["object"];
  return [];
}

const num = (v: unknown): number | undefined => (typeof v === "number" ? v : undefined);

/** A string's length as JSON Schema counts it: code points (a grapheme can be several, an astral one is two UTF-16 units). */
const codePoints = (s: string): number => [...s].length;

function patternArbitrary(pattern: string, minLength: number, maxLength: number): fc.Arbitrary<string> {
  const re = new RegExp(pattern, "u");
  const fits = (s: string) => codePoints(s) >= minLength && codePoints(s) <= maxLength && re.test(s);
  try {
    return fc.stringMatching(re, { size: "small" }).filter(fits);
  } catch {
    // fast-check cannot build from this regex (e.g. \p{…} classes): generate text and keep what matches.
    return fc.string({ unit: "grapheme", minLength, maxLength }).filter(fits);
  }
}

function stringArbitrary(s: SchemaObject, ctx: ArbitraryContext): fc.Arbitrary<string> {
  const minLength = num(s.minLength) ?? 0;
  const maxLength = num(s.maxLength) ?? Math.max(minLength, ctx.maxStringLength ?? 24);
  switch (s.format) {
    case "uuid":
      return fc.uuid();
    case "email":
      return fc.emailAddress().filter((e) => e.length <= maxLength && e.length >= minLength);
    case "date-time":
      return fc.date({ min: new Date("2000-01-01T00:00:00Z"), max: new Date("2100-01-01T00:00:00Z"), noInvalidDate: true }).map((d) => d.toISOString());
    case "date":
      return fc.date({ min: new Date("2000-01-01T00:00:00Z"), max: new Date("2100-01-01T00:00:00Z"), noInvalidDate: true }).map((d) => d.toISOString().slice(0, 10));
    default:
      break;
  }
  if (typeof s.pattern === "string") return patternArbitrary(s.pattern, minLength, maxLength);
  return fc.string({ unit: "grapheme", minLength, maxLength }).filter((x) => codePoints(x) <= maxLength);
}

function numberArbitrary(s: SchemaObject, integer: boolean): fc.Arbitrary<number> {
  const exMin = num(s.exclusiveMinimum);
  const exMax = num(s.exclusiveMaximum);
  let min = num(s.minimum) ?? (exMin !== undefined ? exMin + (integer ? 1 : Number.EPSILON) : undefined);
  let max = num(s.maximum) ?? (exMax !== undefined ? exMax - (integer ? 1 : Number.EPSILON) : undefined);
  if (integer) {
    min = Math.max(min ?? -1_000_000, Number.MIN_SAFE_INTEGER);
    max = Math.min(max ?? 1_000_000, Number.MAX_SAFE_INTEGER);
    const lo = Math.ceil(min);
    const hi = Math.floor(max);
    // Bounds themselves are the interesting values.
    return fc.oneof({ weight: 4, arbitrary: fc.integer({ min: lo, max: hi }) }, { weight: 1, arbitrary: fc.constantFrom(lo, hi) });
  }
  return fc.double({ min: min ?? -1_000_000, max: max ?? 1_000_000, noNaN: true, noDefaultInfinity: true });
}

/** Valid values of `schema`; `name` is the property or parameter name (for fixtures). */
export function valueArbitrary(schema: JsonSchema | undefined, ctx: ArbitraryContext, name?: string, depth = 0): fc.Arbitrary<unknown> {
  const s = resolveSchema(ctx.doc, schema);
  if (s === true || (isRecord(s) && Object.keys(s).length === 0)) return fc.jsonValue({ maxDepth: 2 });
  if (s === false || !isRecord(s)) return fc.constant(null);
  const generated = valueOfSchema(s, ctx, name, depth);
  const known = name !== undefined ? ctx.fixtures?.(name) : undefined;
  if (known && known.length > 0 && name !== undefined && ctx.exclusive?.(name)) return fc.constantFrom(...known);
  if (known && known.length > 0 && typesOf(s).includes("string")) return fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...known) }, { weight: 1, arbitrary: generated });
  return generated;
}

function valueOfSchema(s: SchemaObject, ctx: ArbitraryContext, name: string | undefined, depth: number): fc.Arbitrary<unknown> {
  if ("const" in s) return fc.constant(s.const);
  if (Array.isArray(s.enum)) return fc.constantFrom(...(s.enum as unknown[]));
  for (const key of ["anyOf", "oneOf"] as const) {
    const branches = s[key];
    if (Array.isArray(branches) && branches.length > 0) {
      const { [key]: _b, ...rest } = s;
      return fc.oneof(...branches.map((b) => valueArbitrary(isRecord(b) && Object.keys(rest).length > 0 ? { ...rest, ...b } : (b as JsonSchema), ctx, name, depth + 1)));
    }
  }
  if (Array.isArray(s.allOf)) {
    const merged = (s.allOf as JsonSchema[]).map((b) => resolveSchema(ctx.doc, b)).filter(isRecord);
    const { allOf: _a, ...rest } = s;
    return valueArbitrary(
      merged.reduce<SchemaObject>(
        (acc, b) => ({
          ...acc,
          ...b,
          properties: { ...(isRecord(acc.properties) ? acc.properties : {}), ...(isRecord(b.properties) ? b.properties : {}) },
          required: [...(Array.isArray(acc.required) ? (acc.required as string[]) : []), ...(Array.isArray(b.required) ? (b.required as string[]) : [])],
        }),
        rest,
      ),
      ctx,
      name,
      depth + 1,
    );
  }
  const types = typesOf(s);
  if (types.length === 0) return fc.jsonValue({ maxDepth: 2 });
  return fc.oneof(...types.map((t) => ofType(t, s, ctx, name, depth)));
}

function ofType(type: string, s: SchemaObject, ctx: ArbitraryContext, name: string | undefined, depth: number): fc.Arbitrary<unknown> {
  switch (type) {
    case "string":
      return stringArbitrary(s, ctx);
    case "integer":
      return numberArbitrary(s, true);
    case "number":
      return numberArbitrary(s, false);
    case "boolean":
      return fc.boolean();
    case "null":
      return fc.constant(null);
    case "array": {
      if (depth > 6) return fc.constant([]);
      const minLength = num(s.minItems) ?? 0;
      const maxLength = Math.min(num(s.maxItems) ?? 4, minLength + 4);
      return fc.array(valueArbitrary(s.items as JsonSchema | undefined, ctx, name, depth + 1), { minLength, maxLength });
    }
    case "object": {
      const props = isRecord(s.properties) ? (s.properties as Record<string, JsonSchema>) : {};
      const required = Array.isArray(s.required) ? (s.required as string[]) : [];
      if (depth > 6) return fc.constant({});
      const model = Object.fromEntries(Object.entries(props).map(([k, v]) => [k, valueArbitrary(v, ctx, k, depth + 1)]));
      const base = fc.record(model, { requiredKeys: required.filter((k) => k in props) });
      // An open object (additionalProperties a schema or absent) may carry keys of its own; keep to documented ones.
      if (Object.keys(props).length === 0 && isRecord(s.additionalProperties)) {
        return fc.dictionary(fc.string({ minLength: 1, maxLength: 8 }), valueArbitrary(s.additionalProperties as JsonSchema, ctx, undefined, depth + 1), { maxKeys: 3 });
      }
      return base;
    }
    default:
      return fc.constant(null);
  }
}

/** Strings that break text handling: NUL and other controls, lone surrogates, RTL overrides, emoji, combining marks. */
export const ODD_STRINGS: readonly string[] = [
  "\u0000",
  "a\u0000b",
  "\ud800",
  "x\udfffy",
  "\u202eevil\u202c",
  "\u200f\u05e9\u05dc\u05d5\u05dd",
  "😀👩‍👩‍👧‍👦🏳️‍🌈",
  "e\u0301\u0301\u0301",
  "\u001b[31mred",
  "\u007f\u0085\u009f",
  "\ufeffbom",
  "\r\n",
  "\t",
  " ",
  "",
  "%00",
  "../../etc/passwd",
  "'; drop table users; --",
  "<script>alert(1)</script>",
  "${7*7}{{7*7}}",
  "\\",
  "null",
  "-1",
  "1e309",
  "０１２",
  "İıſK",
];

/** An odd string: one of the fixed nasties, or random full-range code units (lone surrogates included). */
export const oddString: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...ODD_STRINGS) },
  { weight: 1, arbitrary: fc.string({ unit: "binary", minLength: 1, maxLength: 12 }) },
  { weight: 1, arbitrary: fc.array(fc.integer({ min: 0, max: 0xffff }), { minLength: 1, maxLength: 8 }).map((codes) => String.fromCharCode(...codes)) },
);

/** Marks "no value of a wrong type exists" (the schema admits anything). */
export const NO_WRONG_TYPE = Symbol.for("nb-fuzz-no-wrong-type");

/** A value of a JSON type the schema does not admit (NO_WRONG_TYPE when it admits every type). */
export function wrongTypeArbitrary(schema: JsonSchema, doc: OpenApiDocument): fc.Arbitrary<unknown> {
  const admitted = new Set(typesOf(resolveSchema(doc, schema)));
  if (admitted.size === 0) return fc.constant(NO_WRONG_TYPE);
  const candidates: [string, fc.Arbitrary<unknown>][] = [
    ["string", fc.constantFrom("", "1", "true", "null", "x")],
    ["integer", fc.constantFrom(0, 1, -1, 2 ** 53)],
    ["number", fc.constantFrom(1.5, -0.25, 1e300)],
    ["boolean", fc.boolean()],
    ["null", fc.constant(null)],
    ["array", fc.constantFrom([], [1], ["a", "b"])],
    ["object", fc.constantFrom({}, { a: 1 })],
  ];
  // An integer is a valid number; 1.5 is not a valid integer.
  const wrong = candidates.filter(([t]) => !admitted.has(t) && !(t === "integer" && admitted.has("number")));
  return wrong.length > 0 ? fc.oneof(...wrong.map(([, a]) => a)) : fc.constant(NO_WRONG_TYPE);
}
