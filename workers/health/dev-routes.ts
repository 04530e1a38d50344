/**
 * Development-only measuring point for benchmarks: one `select 1` on a replica through the request's DbRouter
 * (Neon's SQL-over-HTTP path), so `npm run bench:search` can show what a single database round trip costs on
 * this machine next to /healthz and search. Mounted only in development and test (workers/app.ts), like the other /dev routes.
 */
import { Hono } from "hono";
import { z } from "zod";
import type { AppEnv } from "../platform/context";
import { validate } from "../platform/validation";
import { serviceContext } from "../platform/service-context";
import { pingDatabase } from "./service";

export const devDbRoutes = new Hono<AppEnv>().get("/dev/db/ping", validate("query", z.strictObject({})), async (c) => {
  c.header("Cache-Control", "no-store");
  return c.json(await pingDatabase(serviceContext(c)));
});
