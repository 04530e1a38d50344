/** GET /dev/mailbox: the local stand-in for an inbox. Mounted only in development and test (workers/app.ts); elsewhere it does not exist. */
import { z } from "zod";
import { safeText } from "../platform/validation";
import { serviceContext } from "../platform/service-context";
import { apiRoute, apiRouter, ok } from "../platform/openapi";
import { listDevMailbox } from "./mailbox";

const querySchema = z.strictObject({ to: safeText().trim().max(254).optional().meta({ description: "Only mail to this address (case-insensitive)." }) });

const mailSchema = z.object({
  id: z.string().meta({ description: "The mailbox row id, a decimal string (newest first).", example: "1042" }),
  to: z.string(),
  subject: z.string(),
  text: z.string(),
  html: z.string(),
  created_at: z.string().meta({ description: "When the dev provider stored it. ISO 8601 with offset." }),
});

const mailbox = apiRoute({
  method: "get",
  path: "/dev/mailbox",
  tags: ["dev"],
  summary: "The 50 newest mails the dev email provider \"sent\"",
  description: "Development and test only.",
  request: { query: querySchema },
  responses: { 200: ok(z.array(mailSchema), "Mails, newest first.", { headers: ["Cache-Control"] }) },
  errors: ["DATABASE_UNAVAILABLE"],
});

export const devMailboxRoutes = apiRouter().openapi(mailbox, async (c) =>
  c.json({ data: await listDevMailbox(serviceContext(c), c.req.valid("query").to ?? null) }, 200, { "Cache-Control": "no-store" }),
);
