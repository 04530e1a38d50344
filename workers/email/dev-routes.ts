/** GET /dev/mailbox: the local stand-in for an inbox. Mounted only in development and test (workers/app.ts); elsewhere it does not exist. */
import { Hono } from "hono";
import { sql } from "drizzle-orm";
import { z } from "zod";
import type { AppEnv } from "../platform/context";
import { safeText, validate } from "../platform/validation";

const querySchema = z.strictObject({ to: safeText().trim().max(254).optional() });

export const devMailboxRoutes = new Hono<AppEnv>().get("/dev/mailbox", validate("query", querySchema), async (c) => {
  const to = c.req.valid("query").to?.toLowerCase() ?? null;
  const { value } = await c.get("db").read(
    (db) =>
      db.rows(sql`select id, to_address as to, subject, text, html, to_json(created_at) #>> '{}' as created_at from dev_mailbox
                  where ${to === null ? sql`true` : sql`lower(to_address) = ${to}`} order by id desc limit 50`),
    { primary: true },
  );
  return c.json({ data: value }, 200, { "Cache-Control": "no-store" });
});
