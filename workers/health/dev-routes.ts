/**
 * Development-only measuring point for benchmarks: one `select 1` on a replica through the request's DbRouter
 * (Neon's SQL-over-HTTP path), so `npm run bench:search` can show what a single database round trip costs on
 * this machine next to /healthz and search. Mounted only in development and test (workers/app.ts), like the other /dev routes.
 */
import { Hono } from "hono";
import { sql } from "drizzle-orm";
import { z } from "zod";
import type { AppEnv } from "../platform/context";
import { validate } from "../platform/validation";

export const devDbRoutes = new Hono<AppEnv>().get("/dev/db/ping", validate("query", z.strictObject({})), async (c) => {
  const { value, source } = await c.get("db").read((r) => r.rows<{ one: number }>(sql`select 1 as one`));
  c.header("Cache-Control", "no-store");
  return c.json({ one: value[0]?.one ?? null, source });
});
