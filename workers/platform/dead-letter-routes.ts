/** Staff API over dead letters: list them, and send one back to its queue (re-drive). */
import { Hono } from "hono";
import { sql } from "drizzle-orm";
import { z } from "zod";
import type { AppEnv } from "./context";
import { AppError } from "./errors";
import { validate } from "./validation";
import { requireStaff } from "./staff-auth";
import { QUEUE_NAMES, queueBinding } from "./queues";
import { writeAudit } from "./audit";
import { currentPrincipal } from "./principal";

const listQuery = z.strictObject({ queue: z.enum(QUEUE_NAMES).optional(), pending: z.enum(["true", "false"]).optional() });
const idParam = z.strictObject({ id: z.string().regex(/^[\w-]{1,100}$/) });

export const deadLetterAdminRoutes = new Hono<AppEnv>()
  .use("/dead-letters/*", requireStaff())
  .use("/dead-letters", requireStaff())
  .get("/dead-letters", validate("query", listQuery), async (c) => {
    const q = c.req.valid("query");
    const { value } = await c.get("db").read(
      (r) =>
        r.rows(sql`select message_id as id, queue, task_name, job_id, body, attempts, to_json(received_at) #>> '{}' as received_at,
                     to_json(redriven_at) #>> '{}' as redriven_at from dead_letters
                   where ${q.queue ? sql`queue = ${q.queue}` : sql`true`} and ${q.pending === "true" ? sql`redriven_at is null` : sql`true`}
                   order by received_at desc limit 100`),
      { primary: true },
    );
    return c.json({ data: value }, 200, { "Cache-Control": "no-store" });
  })
  .post("/dead-letters/:id/redrive", validate("param", idParam), async (c) => {
    const id = c.req.valid("param").id;
    const db = c.get("db");
    const { value } = await db.read((r) => r.rows<{ queue: string; body: unknown }>(sql`select queue, body from dead_letters where message_id = ${id}`), { primary: true });
    const row = value[0];
    if (!row) throw new AppError("DEAD_LETTER_NOT_FOUND", "No dead letter with this id");
    const q = queueBinding(c.env, row.queue);
    if (!q) throw new AppError("QUEUE_UNKNOWN", `This Worker cannot send to ${row.queue}`);
    await q.send(row.body, { contentType: "json" });
    const principal = currentPrincipal(c);
    await db.write((primary) =>
      primary.transaction(async (tx) => {
        await tx.execute(sql`update dead_letters set redriven_at = now() where message_id = ${id}`);
        await writeAudit(tx, { actorId: principal?.userId ?? null, actorRole: principal?.role ?? "staff-token", action: "dead_letter.redrive", targetType: "dead_letter", targetId: id, requestId: c.get("requestId"), ipHash: null });
      }),
    );
    return c.json({ data: { id, queue: row.queue, redriven: true } }, 200, { "Cache-Control": "no-store" });
  });
