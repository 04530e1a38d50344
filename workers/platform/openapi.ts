/**
 * How a route is declared: one `apiRoute({...})` per operation, with its request schemas (the same zod schemas that
 * validate), its success responses, and the error codes it can answer with. `@hono/zod-openapi` validates from the
 * declaration and the OpenAPI 3.1 document is generated from it, so nothing about the API is written twice.
 *
 * On top of what a route names itself, `apiRoute` adds what the platform can answer on any operation: validation
 * codes for each part of the request it declares, the codes its middleware can throw (see `documented`), and the
 * codes every request can meet (a bad bearer token, a body over the size cap, our own faults).
 */
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import type { RouteConfig, RouteConfigToTypedResponse } from "@hono/zod-openapi";
import type { Context, MiddlewareHandler, ValidationTargets } from "hono";
import type { AppEnv } from "./context";
import { ERROR_CODES } from "./error-codes";
import type { ErrorCode } from "./error-codes";
import { AppError } from "./errors";
import { validationError } from "./validation";
import type { FieldCodes, TargetCodes } from "./validation";

/** The document's tags: one per domain (plus `dev`, only in development and test). */
export const API_TAGS = {
  health: "Liveness and readiness.",
  meta: "This reference and the OpenAPI document.",
  storefront: "The shop's HTML pages (home, search, categories, books), rendered on the server, and their files; `GET /` also answers the API's links as JSON.",
  catalog: "Products, variants, categories and availability: public, cached, replica-first.",
  search: "Full-text search with typo tolerance, facets and suggestions.",
  accounts: "Sign-up, login (with TOTP), sessions, profile and addresses.",
  cart: "Guest and customer carts (one Durable Object per cart).",
  checkout: "Checkout: stock holds, the order, the payment.",
  orders: "The customer's orders; guests read theirs with the X-Order-Token from checkout.",
  payments: "Stripe's webhook.",
  "admin-catalog": "Staff: variant prices, status and sale limits.",
  "admin-orders": "Staff: fulfilment and refunds.",
  "admin-inventory": "Staff: live stock counts and adjustments.",
  "admin-search": "Staff: search synonyms.",
  "admin-ops": "Staff: dead-lettered background work.",
  dev: "Development and test only: simulators and probes. Absent from staging and production.",
} as const;
export type ApiTag = keyof typeof API_TAGS;

/** Security schemes, as the document names them. */
export const SECURITY_SCHEMES = {
  bearerAuth: { type: "http", scheme: "bearer", bearerFormat: "JWT", description: "A customer's access token from login or refresh (15 minutes)." },
  staffAuth: {
    type: "http",
    scheme: "bearer",
    bearerFormat: "JWT or staff API token",
    description: "A staff or admin user's access token (role `staff` or `admin`), or the staff API token.",
  },
  cartToken: { type: "apiKey", in: "header", name: "X-Cart-Token", description: "A guest cart's signed token from POST /v1/carts." },
  orderToken: { type: "apiKey", in: "header", name: "X-Order-Token", description: "A guest order's signed token from checkout." },
  refreshCookie: { type: "apiKey", in: "cookie", name: "nb_refresh", description: "The refresh session cookie (`__Host-nb_refresh` over HTTPS), set by login." },
  csrfToken: { type: "apiKey", in: "header", name: "X-CSRF-Token", description: "Echo of the `nb_csrf` cookie; required with the refresh cookie." },
  stripeSignature: { type: "apiKey", in: "header", name: "Stripe-Signature", description: "Stripe's webhook signature (t=…,v1=…), at most 5 minutes old." },
} as const;
export type SecurityScheme = keyof typeof SECURITY_SCHEMES;
/** One OpenAPI security requirement: all the schemes named must be satisfied together. */
export type SecurityRequirement = Partial<Record<SecurityScheme, string[]>>;

/** Response headers the document describes. */
const HEADERS = {
  "X-Request-Id": z.string().meta({ description: "This request's id; also in every error body and in the logs." }),
  ETag: z.string().meta({ description: "Weak validator; send it back in If-None-Match for a 304." }),
  "Cache-Control": z.string().meta({ description: "Public for anonymous catalog reads, `no-store` for everything personal and for errors." }),
  "Idempotent-Replayed": z.literal("true").optional().meta({ description: "`true` when this answer replays an earlier request with the same Idempotency-Key." }),
  "Retry-After": z.string().meta({ description: "Seconds to wait before retrying." }),
  Allow: z.string().meta({ description: "The methods the path takes." }),
  "Set-Cookie": z.string().optional().meta({ description: "Session, CSRF or device cookies." }),
  Location: z.string().meta({ description: "Where a storefront form's 303 sends the browser (Post/Redirect/Get)." }),
};
export type ResponseHeader = keyof typeof HEADERS;

const headersOf = (names: readonly ResponseHeader[]) =>
  z.object(Object.fromEntries(["X-Request-Id" as const, ...names.filter((n) => n !== "X-Request-Id")].map((n) => [n, HEADERS[n]])));

/** A middleware with what the document should say about it: the codes it can throw and the credentials it takes. */
export interface DocumentedMiddleware extends MiddlewareHandler<AppEnv> {
  errorCodes?: readonly ErrorCode[];
  security?: readonly SecurityRequirement[];
}

/** Attaches documentation to a middleware so every route that uses it lists its codes and security. */
export function documented(mw: MiddlewareHandler<AppEnv>, doc: { errors?: readonly ErrorCode[]; security?: readonly SecurityRequirement[] }): DocumentedMiddleware {
  return Object.assign(mw, { errorCodes: doc.errors ?? [], security: doc.security });
}

/** Codes any request can meet, whatever the operation: the global middleware and our own faults. */
// A bearer token on any request is verified and checked for revocation (which can need the primary database).
export const GLOBAL_ERROR_CODES: readonly ErrorCode[] = ["INVALID_TOKEN", "TOKEN_REVOKED", "RATE_LIMITED", "DATABASE_UNAVAILABLE", "CONFIG_INVALID", "INTERNAL_ERROR"];

/** The error envelope, with `code` narrowed to the codes one response can carry. */
export function errorEnvelope(codes: readonly ErrorCode[]) {
  const code = codes.length > 0 ? z.enum(codes as [ErrorCode, ...ErrorCode[]]) : z.string();
  return z
    .object({
      error: z.object({
        code,
        message: z.string().meta({ description: "For people; may change. Program against `code`." }),
        details: z.unknown().meta({ description: "Structured facts about the error (for validation: one entry per issue), or null." }),
        request_id: z.string().nullable(),
      }),
    })
    .meta({ description: "The one error envelope." });
}

/** A success response: `{ "data": schema }` (plus `extra` top-level keys such as `page`), with its headers. */
export function ok<T extends z.ZodType, X extends z.ZodRawShape = Record<never, never>>(
  schema: T,
  description: string,
  opts: { headers?: readonly ResponseHeader[]; extra?: X; example?: unknown } = {},
) {
  const body = z.object({ data: schema, ...(opts.extra ?? ({} as X)) });
  return {
    description,
    headers: headersOf(opts.headers ?? []),
    content: { "application/json": { schema: body, ...(opts.example === undefined ? {} : { example: opts.example }) } },
  };
}

/** A response with no body (204, 304). */
export function empty(description: string, headers: readonly ResponseHeader[] = []) {
  return { description, headers: headersOf(headers) };
}

/** Standard paging of cursor lists: the page object next to `data`. */
export const cursorPage = z.object({
  limit: z.number().int(),
  next_cursor: z.string().nullable().meta({ description: "Pass as `cursor` for the next page; null on the last page." }),
  has_more: z.boolean(),
});


export interface ApiRouteExtras {
  /** Codes the handler or service can answer with (the platform adds validation, middleware and global codes). */
  errors?: readonly ErrorCode[];
  /** Per request part, the error code a field's validation failure answers with (see platform/validation.ts). */
  fieldCodes?: TargetCodes;
  tags: [ApiTag];
  summary: string;
}

const asArray = <T>(v: T | readonly T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? [...(v as T[])] : [v as T]);

const codesOf = (fc: FieldCodes | undefined): ErrorCode[] =>
  Object.values(fc ?? {}).flatMap((v) => (typeof v === "string" ? [v] : (Object.values(v).filter(Boolean) as ErrorCode[])));

/**
 * Whether the route's body is validated: only a zod schema gets a validator. A body documented with a plain JSON
 * Schema object (the Stripe webhook, which must read the raw bytes to check their signature) is described, not parsed.
 */
const validatesBody = (route: RouteConfig): boolean =>
  Object.values(route.request?.body?.content ?? {}).some((media) => {
    const schema: unknown = media && "schema" in media ? media.schema : undefined;
    // The test @hono/zod-openapi uses to attach a validator.
    return typeof schema === "object" && schema !== null && typeof (schema as { safeParse?: unknown }).safeParse === "function";
  });

/** The status → codes table of one operation, every code once. */
function errorTable(route: RouteConfig, extras: ApiRouteExtras, middleware: DocumentedMiddleware[]): ErrorCode[] {
  const codes = new Set<ErrorCode>(extras.errors ?? []);
  const req = route.request;
  if (req?.query || req?.params || validatesBody(route) || req?.headers) codes.add("VALIDATION_FAILED");
  if (req?.query) codes.add("UNKNOWN_PARAMETER");
  if (validatesBody(route)) ["UNKNOWN_FIELD", "MALFORMED_REQUEST", "UNSUPPORTED_MEDIA_TYPE"].forEach((c) => codes.add(c as ErrorCode));
  if (route.method !== "get" && route.method !== "head") codes.add("PAYLOAD_TOO_LARGE");
  for (const target of ["query", "param", "json", "form", "header"] as const) codesOf(extras.fieldCodes?.[target]).forEach((c) => codes.add(c));
  for (const mw of middleware) (mw.errorCodes ?? []).forEach((c) => codes.add(c));
  // A route that documents its own 503 body (readiness) keeps it: the global codes do not add a second 503 schema.
  const own503 = Object.hasOwn(route.responses, "503");
  GLOBAL_ERROR_CODES.filter((c) => !(own503 && ERROR_CODES[c].status === 503)).forEach((c) => codes.add(c));
  return [...codes].sort();
}

/** Codes outside 429/503 whose answers carry `Retry-After` (only these do in their status). */
const RETRY_AFTER_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>(["CHECKOUT_IN_PROGRESS"]);

/** The headers of an error response: Retry-After on 429/503, and (optional) on a status where some codes send it. */
function errorHeaders(status: number, list: readonly ErrorCode[]) {
  if (status === 429 || status === 503) return headersOf(["Retry-After", "Cache-Control"]);
  if (status === 405) return headersOf(["Allow"]);
  const retrying = list.filter((c) => RETRY_AFTER_CODES.has(c));
  if (retrying.length === 0) return headersOf(["Cache-Control"]);
  return headersOf(["Cache-Control"]).extend({
    "Retry-After": HEADERS["Retry-After"].optional().meta({ description: `Seconds to wait before retrying; sent with ${retrying.map((c) => `\`${c}\``).join(", ")}.` }),
  });
}

function errorResponses(codes: readonly ErrorCode[]) {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of codes) byStatus.set(ERROR_CODES[code].status, [...(byStatus.get(ERROR_CODES[code].status) ?? []), code]);
  return Object.fromEntries(
    [...byStatus.entries()]
      .sort(([a], [b]) => a - b)
      .map(([status, list]) => [
        status,
        {
          description: list.map((c) => `\`${c}\`: ${ERROR_CODES[c].docs}`).join("\n\n"),
          headers: errorHeaders(status, list),
          content: { "application/json": { schema: errorEnvelope(list) } },
        },
      ]),
  );
}

/**
 * Bodies are of the media type the route declares (`application/json`; a storefront form's
 * `application/x-www-form-urlencoded`), with parameters such as charset, and nothing else: @hono/zod-openapi would
 * also read any `application/*+json` type as JSON, which the document does not promise.
 */
const declaredMediaOnly = (types: readonly string[]): MiddlewareHandler<AppEnv> => async (c, next) => {
  const type = c.req.header("content-type");
  if (type !== undefined && !types.includes(type.split(";")[0]?.trim().toLowerCase() ?? "")) {
    throw new AppError("UNSUPPORTED_MEDIA_TYPE", `Send the body as ${types.join(" or ")}`);
  }
  await next();
};

/** Sets the route's field codes for the validation hook (route middleware runs before the validators). */
const fieldCodesFor = (codes: TargetCodes): MiddlewareHandler<AppEnv> => async (c, next) => {
  c.set("fieldCodes", codes);
  await next();
};

const NO_QUERY = z.strictObject({});

/**
 * Declares an operation: `createRoute` plus the error responses the operation can give, its security (from its
 * middleware unless given) and `x-error-codes`, the flat list of its codes, for programs that read the document.
 */
export function apiRoute<const R extends RouteConfig>(config: R & ApiRouteExtras): R & { getRoutingPath(): string } {
  const { errors: _errors, fieldCodes, ...declared } = config;
  // Unknown input is refused on every operation: one that declares no query parameters takes none.
  const route: RouteConfig = declared.request?.query ? declared : { ...declared, request: { ...declared.request, query: NO_QUERY } };
  const middleware = asArray(route.middleware as DocumentedMiddleware | DocumentedMiddleware[] | undefined);
  const codes = errorTable(route, config, middleware);
  const security = route.security ?? middleware.flatMap((m) => m.security ?? []);
  return createRoute({
    ...route,
    middleware: [fieldCodesFor(fieldCodes ?? {}), ...middleware, ...(validatesBody(route) ? [declaredMediaOnly(Object.keys(route.request?.body?.content ?? {}))] : [])],
    // An explicit `security: []` is kept: it says "no credentials" (public), not "unspecified".
    ...(security.length > 0 || route.security !== undefined ? { security } : {}),
    responses: { ...errorResponses(codes), ...route.responses },
    "x-error-codes": codes,
  }) as unknown as R & { getRoutingPath(): string };
}

/**
 * The validation hook of every route: a failed check throws the envelope's 400 with the most specific code (the
 * route's field codes, UNKNOWN_PARAMETER / UNKNOWN_FIELD for keys a strict schema does not know, else
 * VALIDATION_FAILED) and the zod issues as details.
 */
const validationHook = (
  result: { target: keyof ValidationTargets; success: true; data: unknown } | { target: keyof ValidationTargets; success: false; error: z.ZodError },
  c: Context<AppEnv>,
): void => {
  if (result.success) return;
  const target = result.target;
  throw validationError(result.error.issues, target, c.get("fieldCodes")?.[target as keyof TargetCodes] ?? {});
};

/** A domain's router: routes are added with `.openapi(apiRoute({...}), handler)`. */
export function apiRouter(): OpenAPIHono<AppEnv> {
  return new OpenAPIHono<AppEnv>({ defaultHook: validationHook as never });
}

/**
 * For handlers whose service builds the Response itself (a cached body sent byte for byte, an ETag): the response
 * is declared as the route's documented type. The compiler cannot see inside it; the conformance check in the test
 * suites validates every such response against the document.
 */
export const prebuilt = <R extends RouteConfig>(_route: R, res: Response): RouteConfigToTypedResponse<R> =>
  res as unknown as RouteConfigToTypedResponse<R>;
