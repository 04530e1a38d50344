/** Search HTTP routes: thin handlers that validate, call the service and shape nothing themselves. */
import type { Context } from "hono";
import { z } from "zod";
import type { AppEnv } from "../platform/context";
import type { ErrorCode } from "../platform/error-codes";
import { publicCache } from "../platform/http-cache";
import { requireStaff } from "../platform/staff-auth";
import { apiRoute, apiRouter, documented, empty, ok, prebuilt } from "../platform/openapi";
import type { SecurityRequirement } from "../platform/openapi";
import { serviceContext } from "../platform/service-context";
import { clientIpOrNull } from "../platform/client-ip";
import { emptyQuerySchema } from "../catalog";
import { searchQueryCodes, searchQuerySchema, suggestQueryCodes, suggestQuerySchema, synonymBodySchema, synonymIdParamSchema } from "./schemas";
import {
  searchEngineSchema,
  searchExample,
  searchFacetsSchema,
  searchHitSchema,
  searchPageSchema,
  searchQueryEchoSchema,
  suggestExample,
  suggestionSchema,
  synonymSetSchema,
} from "./response-schemas";
import { searchResponse, suggestResponse } from "./service";
import { deleteSynonym, listSynonyms, putSynonym } from "./admin-service";
import type { StaffActor } from "./admin-service";
import { searchRateLimit } from "./rate-limit";

const staffActor = (c: Context<AppEnv>): StaffActor => ({ userId: c.get("userId") ?? null, ip: clientIpOrNull(c) });

const CACHED = ["ETag", "Cache-Control"] as const;
const notModified = empty("Not modified: the `If-None-Match` ETag is current.", CACHED);
/** An engine outage or a statement past its time limit (both 503 with Retry-After). */
const ENGINE_ERRORS = ["SEARCH_UNAVAILABLE", "SEARCH_TIMEOUT"] as const satisfies readonly ErrorCode[];
const limited = (binding: "SEARCH_RATE_LIMITER" | "SUGGEST_RATE_LIMITER") => documented(searchRateLimit(binding), { errors: ["RATE_LIMITED"] });

const search = apiRoute({
  method: "get",
  path: "/search",
  tags: ["search"],
  summary: "Full-text product search with typo tolerance, filters, facets and pages",
  description:
    "Hits are products (their matching variants grouped). An ISBN typed as `q` finds its book. Pages are numbered; page × limit is at most 1,000. Anonymous answers are cacheable for 30 s.",
  middleware: [limited("SEARCH_RATE_LIMITER"), publicCache(30)],
  request: { query: searchQuerySchema },
  responses: {
    200: ok(z.array(searchHitSchema), "One page of matching products.", {
      headers: CACHED,
      extra: { facets: searchFacetsSchema, page: searchPageSchema, query: searchQueryEchoSchema, engine: searchEngineSchema },
      example: searchExample,
    }),
    304: notModified,
  },
  errors: ENGINE_ERRORS,
  fieldCodes: { query: searchQueryCodes },
});

const suggest = apiRoute({
  method: "get",
  path: "/search/suggest",
  tags: ["search"],
  summary: "Autocomplete: titles, authors and series for a half-typed query",
  description: "An ISBN suggests its book. Anonymous answers are cacheable for 30 s.",
  middleware: [limited("SUGGEST_RATE_LIMITER"), publicCache(30)],
  request: { query: suggestQuerySchema },
  responses: {
    200: ok(z.array(suggestionSchema), "Suggestions, best first.", { headers: CACHED, example: suggestExample }),
    304: notModified,
  },
  errors: ENGINE_ERRORS,
  fieldCodes: { query: suggestQueryCodes },
});

export const searchRoutes = apiRouter()
  .openapi(search, async (c) => prebuilt(search, await searchResponse(c, c.req.valid("query"))))
  .openapi(suggest, async (c) => prebuilt(suggest, await suggestResponse(c, c.req.valid("query"))));

const STAFF: SecurityRequirement[] = [{ staffAuth: [] }];
const STAFF_ERRORS = ["UNAUTHORIZED", "FORBIDDEN"] as const satisfies readonly ErrorCode[];
const noStore = { "Cache-Control": "no-store" };

const listSynonymSets = apiRoute({
  method: "get",
  path: "/search/synonyms",
  tags: ["admin-search"],
  summary: "Every synonym set",
  middleware: [requireStaff()],
  security: STAFF,
  request: { query: emptyQuerySchema },
  responses: { 200: ok(z.array(synonymSetSchema), "The synonym sets, by id.", { headers: ["Cache-Control"] }) },
  errors: [...STAFF_ERRORS, "DATABASE_UNAVAILABLE", "SEARCH_UNAVAILABLE"],
});

const putSynonymSet = apiRoute({
  method: "put",
  path: "/search/synonyms/{id}",
  tags: ["admin-search"],
  summary: "Create or replace a synonym set (audited; affected cached results stop being served)",
  description: "Terms are normalised (unaccented, lower case, letters and digits). Without `root` a set is multi-way and needs two synonyms.",
  middleware: [requireStaff()],
  security: STAFF,
  request: { params: synonymIdParamSchema, body: { required: true, content: { "application/json": { schema: synonymBodySchema } } } },
  responses: { 200: ok(synonymSetSchema, "The set as stored (duplicates removed).", { headers: ["Cache-Control"] }) },
  errors: [...STAFF_ERRORS, "DATABASE_UNAVAILABLE", "SEARCH_UNAVAILABLE"],
  fieldCodes: { param: { id: "INVALID_SLUG" } },
});

const deleteSynonymSet = apiRoute({
  method: "delete",
  path: "/search/synonyms/{id}",
  tags: ["admin-search"],
  summary: "Delete a synonym set (audited)",
  middleware: [requireStaff()],
  security: STAFF,
  request: { params: synonymIdParamSchema },
  responses: { 204: empty("Deleted.") },
  errors: [...STAFF_ERRORS, "SYNONYM_NOT_FOUND", "DATABASE_UNAVAILABLE", "SEARCH_UNAVAILABLE"],
  fieldCodes: { param: { id: "INVALID_SLUG" } },
});

export const searchAdminRoutes = apiRouter()
  .openapi(listSynonymSets, async (c) => c.json({ data: await listSynonyms(serviceContext(c)) }, 200, noStore))
  .openapi(putSynonymSet, async (c) =>
    c.json({ data: await putSynonym(serviceContext(c), staffActor(c), c.req.valid("param").id, c.req.valid("json")) }, 200, noStore),
  )
  .openapi(deleteSynonymSet, async (c) => {
    await deleteSynonym(serviceContext(c), staffActor(c), c.req.valid("param").id);
    return c.body(null, 204);
  });
