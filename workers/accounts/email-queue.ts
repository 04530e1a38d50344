/** Queuing an account email: the outbox row is written in the caller's transaction, so it exists iff the change does. */
import type { Database } from "../platform/db";
import { enqueueOutbox, outboxEvent } from "../platform/outbox";

/** The account emails keyed by a user id. */
export type AccountEmailTask = "email.verify_email" | "email.password_reset" | "email.signup_attempt";

/** Queues an email job for `userId` inside the caller's transaction; returns the job ids. */
export async function queueAccountEmail(traceId: string | null, tx: Pick<Database, "execute">, task: AccountEmailTask, userId: string): Promise<string[]> {
  return enqueueOutbox(tx, [outboxEvent(task, { user_id: userId }, traceId)]);
}
