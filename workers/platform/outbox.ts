/** Writes outbox rows inside the caller's transaction; dispatch to Queues happens after commit (queues issue). */
import { sql } from "drizzle-orm";
import type { Database } from "./db";

export interface OutboxEvent {
  queue: string;
  taskName: string;
  payload: Record<string, unknown>;
  traceId: string | null;
}

/** Appends events in the same transaction as the change that causes them; returns their ids (the job ids). */
export async function enqueueOutbox(tx: Pick<Database, "execute">, events: OutboxEvent[]): Promise<string[]> {
  const ids: string[] = [];
  for (const e of events) {
    const res = await tx.execute<{ id: string }>(sql`insert into outbox (queue, task_name, payload, trace_id)
      values (${e.queue}, ${e.taskName}, ${JSON.stringify(e.payload)}::jsonb, ${e.traceId}) returning id`);
    if (res.rows[0]) ids.push(res.rows[0].id);
  }
  return ids;
}
