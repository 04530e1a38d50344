/**
 * Per-request services: the database router and the cache. Pools are ended after the response is sent; a request
 * that wrote to the primary marks its session for read-your-writes.
 */
import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "./context";
import { DbRouter } from "./db";
import { Cache } from "./cache";
import { markRyw, readRyw } from "./read-your-writes";

/** Installs `db`, `cache` and `readYourWrites` on the context. */
export function services(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const config = c.get("config");
    const log = c.get("log");
    const db = new DbRouter(config, log);
    c.set("db", db);
    c.set("cache", new Cache(config, log));
    c.set("readYourWrites", await readRyw(c));
    try {
      await next();
      if (db.wrote && c.res.status < 400) await markRyw(c);
    } finally {
      c.executionCtx.waitUntil(db.end());
      if (c.get("config").diagnostics && c.get("servedBy")) c.header("X-Served-By", c.get("servedBy") ?? "");
    }
  };
}
