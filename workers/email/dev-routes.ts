/** GET /dev/mailbox: the local stand-in for an inbox. Mounted only in development and test (workers/app.ts); elsewhere it does not exist. */
import { Hono } from "hono";
import { z } from "zod";
import type { AppEnv } from "../platform/context";
import { safeText, validate } from "../platform/validation";
import { serviceContext } from "../platform/service-context";
import { listDevMailbox } from "./mailbox";

const querySchema = z.strictObject({ to: safeText().trim().max(254).optional() });

export const devMailboxRoutes = new Hono<AppEnv>().get("/dev/mailbox", validate("query", querySchema), async (c) =>
  c.json({ data: await listDevMailbox(serviceContext(c), c.req.valid("query").to ?? null) }, 200, { "Cache-Control": "no-store" }),
);
