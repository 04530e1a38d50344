/**
 * Development-only measuring point for benchmarks: one `select 1` on a replica through the request's DbRouter
 * (Neon's SQL-over-HTTP path), so `npm run bench:search` can show what a single database round trip costs on
 * this machine next to /healthz and search. Mounted only in development and test (workers/app.ts), like the other /dev routes.
 */
import { z } from "zod";
import { apiRoute, apiRouter, ok } from "../platform/openapi";
import { serviceContext } from "../platform/service-context";
import { dbPingSchema } from "./response-schemas";
import { pingDatabase } from "./service";

const ping = apiRoute({
  method: "get",
  path: "/dev/db/ping",
  tags: ["dev"],
  summary: "One `select 1` on a replica (benchmark floor)",
  request: { query: z.strictObject({}) },
  responses: { 200: ok(dbPingSchema, "The answer and who gave it.", { headers: ["Cache-Control"] }) },
  errors: ["DATABASE_UNAVAILABLE"],
});

export const devDbRoutes = apiRouter().openapi(ping, async (c) => c.json({ data: await pingDatabase(serviceContext(c)) }, 200, { "Cache-Control": "no-store" }));
