/** Search HTTP routes: thin handlers that validate, call the service and shape nothing themselves. */
import { Hono } from "hono";
import type { AppEnv } from "../platform/context";
import { publicCache } from "../platform/http-cache";
import { validate } from "../platform/validation";
import { requireStaff } from "../platform/staff-auth";
import { emptyQuerySchema } from "../catalog";
import { searchQueryCodes, searchQuerySchema, suggestQueryCodes, suggestQuerySchema, synonymBodySchema, synonymIdParamSchema } from "./schemas";
import { searchResponse, suggestResponse } from "./service";
import { deleteSynonym, listSynonyms, putSynonym } from "./admin-service";
import { searchRateLimit } from "./rate-limit";
import { serviceContext } from "../platform/service-context";
import { clientIpOrNull } from "../platform/client-ip";
import type { Context } from "hono";
import type { StaffActor } from "./admin-service";

const staffActor = (c: Context<AppEnv>): StaffActor => ({ userId: c.get("userId") ?? null, ip: clientIpOrNull(c) });

export const searchRoutes = new Hono<AppEnv>()
  .get("/search", searchRateLimit("SEARCH_RATE_LIMITER"), publicCache(30), validate("query", searchQuerySchema, searchQueryCodes), (c) => searchResponse(c, c.req.valid("query")))
  .get("/search/suggest", searchRateLimit("SUGGEST_RATE_LIMITER"), publicCache(30), validate("query", suggestQuerySchema, suggestQueryCodes), (c) => suggestResponse(c, c.req.valid("query")));

export const searchAdminRoutes = new Hono<AppEnv>()
  .use("/search/*", requireStaff())
  .get("/search/synonyms", validate("query", emptyQuerySchema), async (c) => c.json({ data: await listSynonyms(serviceContext(c)) }))
  .put("/search/synonyms/:id", validate("param", synonymIdParamSchema, { id: "INVALID_SLUG" }), validate("json", synonymBodySchema), async (c) =>
    c.json({ data: await putSynonym(serviceContext(c), staffActor(c), c.req.valid("param").id, c.req.valid("json")) }),
  )
  .delete("/search/synonyms/:id", validate("param", synonymIdParamSchema, { id: "INVALID_SLUG" }), async (c) => {
    await deleteSynonym(serviceContext(c), staffActor(c), c.req.valid("param").id);
    return c.body(null, 204);
  });
