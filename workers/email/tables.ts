/**
 * Email delivery bookkeeping: one row per queue job that produced an email (so a redelivered message sends
 * nothing twice), and the development mailbox that stands in for the email provider locally.
 */
import { sql } from "drizzle-orm";
import { bigserial, index, pgTable, text, timestamp, uuid } from "drizzle-orm/pg-core";

export const emailDeliveries = pgTable("email_deliveries", {
  jobId: uuid("job_id").primaryKey(),
  kind: text("kind").notNull(),
  sentAt: timestamp("sent_at", { withTimezone: true, mode: "date" }).notNull().default(sql`now()`),
});

export const devMailbox = pgTable(
  "dev_mailbox",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    jobId: uuid("job_id").notNull().unique("dev_mailbox_job_uq"),
    toAddress: text("to_address").notNull(),
    subject: text("subject").notNull(),
    html: text("html").notNull(),
    text: text("text").notNull(),
    createdAt: timestamp("created_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
  },
  (t) => [index("dev_mailbox_to_idx").on(t.toAddress, t.createdAt)],
);
