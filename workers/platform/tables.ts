/**
 * Tables every domain shares: the transactional outbox, the append-only audit log, and the version counters
 * that caches compare against.
 */
import { sql } from "drizzle-orm";
import { bigint, bigserial, index, integer, jsonb, pgTable, text, timestamp, uuid } from "drizzle-orm/pg-core";

/**
 * Events written in the same transaction as the change that causes them; a dispatcher sends them to a queue
 * after commit and a cron re-sends what is still undispatched.
 */
export const outbox = pgTable(
  "outbox",
  {
    id: uuid("id").primaryKey().default(sql`gen_random_uuid()`),
    queue: text("queue").notNull(),
    taskName: text("task_name").notNull(),
    payload: jsonb("payload").$type<Record<string, unknown>>().notNull(),
    traceId: text("trace_id"),
    createdAt: timestamp("created_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
    dispatchedAt: timestamp("dispatched_at", { withTimezone: true, mode: "date" }),
    attempts: integer("attempts").notNull().default(0),
    lastError: text("last_error"),
  },
  (t) => [index("outbox_pending_idx").on(t.createdAt).where(sql`${t.dispatchedAt} is null`)],
);

/** Who did what to which object; rows are never updated or deleted (a trigger in the migration enforces it). */
export const auditLog = pgTable(
  "audit_log",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    at: timestamp("at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
    actorId: text("actor_id"),
    actorRole: text("actor_role"),
    action: text("action").notNull(),
    targetType: text("target_type").notNull(),
    targetId: text("target_id"),
    requestId: text("request_id"),
    ipHash: text("ip_hash"),
    before: jsonb("before"),
    after: jsonb("after"),
  },
  (t) => [index("audit_log_target_idx").on(t.targetType, t.targetId, t.at), index("audit_log_actor_idx").on(t.actorId, t.at)],
);

/**
 * Monotonic version counters by scope ("catalog" for anything that changes list pages). Bumped in the write
 * transaction, mirrored to Redis after commit; a cached entry older than the counter is not served.
 */
export const cacheVersions = pgTable("cache_versions", {
  scope: text("scope").primaryKey(),
  version: bigint("version", { mode: "number" }).notNull().default(1),
  updatedAt: timestamp("updated_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
});

/**
 * Messages a queue gave up on (after its retries), stored by the dead-letter consumer so operators can read them and
 * send them back to their queue from the admin API. `message_id` is the Queues message id: a dead letter
 * delivered twice is stored once.
 */
export const deadLetters = pgTable(
  "dead_letters",
  {
    messageId: text("message_id").primaryKey(),
    /** The queue the message was meant for (the dead-letter queue's name minus `-dlq`). */
    queue: text("queue").notNull(),
    taskName: text("task_name"),
    jobId: text("job_id"),
    body: jsonb("body").notNull(),
    attempts: integer("attempts").notNull(),
    receivedAt: timestamp("received_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
    redrivenAt: timestamp("redriven_at", { withTimezone: true, mode: "date" }),
  },
  (t) => [index("dead_letters_queue_idx").on(t.queue, t.receivedAt)],
);
