/**
 * Writes outbox rows inside the caller's transaction; dispatch to Queues happens after commit (outbox-dispatch.ts).
 * Every event is checked against its task's schema (tasks.ts) before the insert.
 */
import { sql } from "drizzle-orm";
import type { Database } from "./db";
import type { TaskInput, TaskName } from "./tasks";
import { TASKS, checkTaskEvent } from "./tasks";

export interface OutboxEvent {
  queue: string;
  taskName: string;
  payload: Record<string, unknown>;
  traceId: string | null;
}

/** A typed outbox event for task `name`: the queue comes from the task, the payload is checked at compile time too. */
export function outboxEvent<N extends TaskName>(name: N, payload: TaskInput<N>, traceId: string | null): OutboxEvent {
  return { queue: TASKS[name].queue, taskName: name, payload, traceId };
}

/**
 * Appends events in the same transaction as the change that causes them; returns their ids (the job ids). A
 * malformed event throws TaskPayloadError before anything is inserted, so the caller's change rolls back with it.
 */
export async function enqueueOutbox(tx: Pick<Database, "execute">, events: OutboxEvent[]): Promise<string[]> {
  const checked = events.map((e) => ({ ...e, payload: checkTaskEvent(e.queue, e.taskName, e.payload) }));
  const ids: string[] = [];
  for (const e of checked) {
    const res = await tx.execute<{ id: string }>(sql`insert into outbox (queue, task_name, payload, trace_id)
      values (${e.queue}, ${e.taskName}, ${JSON.stringify(e.payload)}::jsonb, ${e.traceId}) returning id`);
    if (res.rows[0]) ids.push(res.rows[0].id);
  }
  return ids;
}
