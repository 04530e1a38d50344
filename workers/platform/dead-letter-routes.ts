/** Staff API over dead letters: list them (newest first, keyset pages), and send one back to its queue (re-drive). */
import { sql } from "drizzle-orm";
import { z } from "zod";
import { AppError } from "./errors";
import type { ErrorCode } from "./error-codes";
import { queryInt } from "./validation";
import { requireStaff } from "./staff-auth";
import { QUEUE_NAMES, queueBinding } from "./queues";
import { writeAudit } from "./audit";
import { currentPrincipal } from "./principal";
import { apiRoute, apiRouter, cursorPage, ok } from "./openapi";
import type { SecurityRequirement } from "./openapi";

const MESSAGE_ID = /^[\w-]{1,100}$/;

/** A page position: the last row's received_at (microseconds since the epoch, exact) and message id. */
interface DeadLetterCursor {
  receivedUs: string;
  id: string;
}

const b64urlEncode = (s: string): string => btoa(s).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");

function encodeCursor(c: DeadLetterCursor): string {
  return b64urlEncode(JSON.stringify([c.receivedUs, c.id]));
}

function decodeCursor(s: string): DeadLetterCursor | null {
  if (!/^[A-Za-z0-9_-]{1,300}$/.test(s)) return null;
  try {
    const parsed: unknown = JSON.parse(atob(s.replaceAll("-", "+").replaceAll("_", "/")));
    if (!Array.isArray(parsed) || parsed.length !== 2) return null;
    const [us, id] = parsed as unknown[];
    if (typeof us !== "string" || !/^\d{1,18}$/.test(us) || typeof id !== "string" || !MESSAGE_ID.test(id)) return null;
    return { receivedUs: us, id };
  } catch {
    return null;
  }
}

const listQuery = z.strictObject({
  queue: z.enum(QUEUE_NAMES).optional(),
  pending: z.enum(["true", "false"]).optional().meta({ description: "`true`: only those not re-driven yet." }),
  limit: queryInt({ min: 1, max: 100, default: 50, description: "Dead letters per page." }),
  cursor: z
    .string()
    .transform((s, ctx) => {
      const decoded = decodeCursor(s);
      if (!decoded) {
        ctx.addIssue({ code: "custom", message: "must be a cursor from page.next_cursor" });
        return z.NEVER;
      }
      return decoded;
    })
    .optional()
    .meta({ description: "`page.next_cursor` of the previous page (with the same filters)." }),
});
const idParam = z.strictObject({ id: z.string().regex(MESSAGE_ID) });

const deadLetterSchema = z
  .object({
    id: z.string().meta({ description: "The Queues message id." }),
    queue: z.string().meta({ description: "The queue the message was meant for.", example: "payment-webhooks" }),
    task_name: z.string().nullable(),
    job_id: z.string().nullable(),
    body: z.unknown().meta({ description: "The message as it was sent (a task envelope)." }),
    attempts: z.number().int(),
    received_at: z.string().meta({ description: "When the dead-letter consumer stored it. ISO 8601 with offset." }),
    redriven_at: z.string().nullable().meta({ description: "When staff last sent it back; null when never." }),
  })
  .meta({ id: "DeadLetter" });
const redriveSchema = z.object({ id: z.string(), queue: z.enum(QUEUE_NAMES), redriven: z.literal(true) });

type DeadLetterRow = z.infer<typeof deadLetterSchema> & { received_us: string };

const noStore = { "Cache-Control": "no-store" };
const STAFF: SecurityRequirement[] = [{ staffAuth: [] }];
const STAFF_ERRORS = ["UNAUTHORIZED", "FORBIDDEN"] as const satisfies readonly ErrorCode[];

const list = apiRoute({
  method: "get",
  path: "/dead-letters",
  tags: ["admin-ops"],
  summary: "Dead-lettered messages, newest first",
  description: "Keyset pages: follow `page.next_cursor` (with the same filters) until it is null.",
  middleware: [requireStaff()],
  security: STAFF,
  request: { query: listQuery },
  responses: { 200: ok(z.array(deadLetterSchema), "One page of dead letters.", { headers: ["Cache-Control"], extra: { page: cursorPage } }) },
  errors: [...STAFF_ERRORS, "DATABASE_UNAVAILABLE"],
  fieldCodes: { query: { limit: "INVALID_LIMIT", cursor: "INVALID_CURSOR" } },
});

const redrive = apiRoute({
  method: "post",
  path: "/dead-letters/{id}/redrive",
  tags: ["admin-ops"],
  summary: "Send a dead letter back to its queue (audited)",
  middleware: [requireStaff()],
  security: STAFF,
  request: { params: idParam },
  responses: { 200: ok(redriveSchema, "Sent; the message is processed again like a new one.", { headers: ["Cache-Control"] }) },
  errors: [...STAFF_ERRORS, "DEAD_LETTER_NOT_FOUND", "QUEUE_UNKNOWN", "DATABASE_UNAVAILABLE"],
});

export const deadLetterAdminRoutes = apiRouter()
  .openapi(list, async (c) => {
    const q = c.req.valid("query");
    const after = q.cursor
      ? sql`((extract(epoch from received_at) * 1000000)::bigint, message_id) < (${q.cursor.receivedUs}::bigint, ${q.cursor.id})`
      : sql`true`;
    const { value } = await c.get("db").read(
      (r) =>
        r.rows<DeadLetterRow>(sql`select message_id as id, queue, task_name, job_id, body, attempts, to_json(received_at) #>> '{}' as received_at,
                     to_json(redriven_at) #>> '{}' as redriven_at, ((extract(epoch from received_at) * 1000000)::bigint)::text as received_us
                   from dead_letters
                   where ${q.queue ? sql`queue = ${q.queue}` : sql`true`} and ${q.pending === "true" ? sql`redriven_at is null` : sql`true`} and ${after}
                   order by received_at desc, message_id desc limit ${q.limit + 1}`),
      { primary: true },
    );
    const rows = value.slice(0, q.limit);
    const last = rows[rows.length - 1];
    const nextCursor = value.length > q.limit && last ? encodeCursor({ receivedUs: last.received_us, id: last.id }) : null;
    const data = rows.map(({ received_us: _position, ...row }) => row);
    return c.json({ data, page: { limit: q.limit, next_cursor: nextCursor, has_more: nextCursor !== null } }, 200, noStore);
  })
  .openapi(redrive, async (c) => {
    const id = c.req.valid("param").id;
    const db = c.get("db");
    const { value } = await db.read((r) => r.rows<{ queue: string; body: unknown }>(sql`select queue, body from dead_letters where message_id = ${id}`), { primary: true });
    const row = value[0];
    if (!row) throw new AppError("DEAD_LETTER_NOT_FOUND", "No dead letter with this id");
    const queue = QUEUE_NAMES.find((name) => name === row.queue);
    const binding = queue === undefined ? null : queueBinding(c.env, queue);
    if (!queue || !binding) throw new AppError("QUEUE_UNKNOWN", `This Worker cannot send to ${row.queue}`);
    await binding.send(row.body, { contentType: "json" });
    const principal = currentPrincipal(c);
    await db.write((primary) =>
      primary.transaction(async (tx) => {
        await tx.execute(sql`update dead_letters set redriven_at = now() where message_id = ${id}`);
        await writeAudit(tx, { actorId: principal?.userId ?? null, actorRole: principal?.role ?? "staff-token", action: "dead_letter.redrive", targetType: "dead_letter", targetId: id, requestId: c.get("requestId"), ipHash: null });
      }),
    );
    return c.json({ data: { id, queue, redriven: true as const } }, 200, noStore);
  });
