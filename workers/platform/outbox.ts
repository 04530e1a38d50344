/** Writes outbox rows inside the caller's transaction; dispatch to Queues happens after commit (queues issue). */
import { sql } from "drizzle-orm";
import type { Database } from "./db";

export interface OutboxEvent {
  queue: string;
  taskName: string;
  payload: Record<string, unknown>;
  traceId: string | null;
}

/** Appends events in the same transaction as the change that causes them. */
export async function enqueueOutbox(tx: Pick<Database, "execute">, events: OutboxEvent[]): Promise<void> {
  for (const e of events) {
    await tx.execute(sql`insert into outbox (queue, task_name, payload, trace_id)
      values (${e.queue}, ${e.taskName}, ${JSON.stringify(e.payload)}::jsonb, ${e.traceId})`);
  }
}
