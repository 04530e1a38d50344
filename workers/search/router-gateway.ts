/** The SqlGateway of one Worker request or queue batch, over its DbRouter. */
import type { SQL } from "drizzle-orm";
import type { DbRouter } from "../platform/db";
import type { SqlGateway } from "./sql-gateway";

/** Reads replica-first with primary fallback; writes on the primary's pooled WebSocket connection. */
export function routerGateway(db: DbRouter): SqlGateway {
  return {
    read: (fn, opts) => db.read(fn, opts),
    write: (fn) =>
      db.write((primary) => fn({ rows: async <T extends Record<string, unknown>>(q: SQL) => (await primary.execute<T>(q)).rows as T[] })),
  };
}
