/**
 * The order state machine. Every status change goes through `transitionOrder`, which locks the row, refuses moves
 * the table below does not allow, and records the change in `order_history` in the caller's transaction. A move to
 * the status the order already has is a no-op, which is what makes redelivered payment events harmless.
 */
import { sql } from "drizzle-orm";
import type { SQL } from "drizzle-orm";
import type { Database } from "../platform/db";
import type { OrderStatus } from "./tables";

const ALLOWED: Record<OrderStatus, readonly OrderStatus[]> = {
  pending_payment: ["paid", "payment_failed", "cancelled", "expired", "refunded"],
  payment_failed: ["paid", "cancelled", "expired", "refunded"],
  // A payment can still succeed after its holds lapsed (the shopper paid late): re-reserved → paid, or refunded.
  expired: ["paid", "refunded"],
  cancelled: ["paid", "refunded"],
  paid: ["fulfilled", "refunded", "partially_refunded", "cancelled"],
  partially_refunded: ["fulfilled", "shipped", "delivered", "refunded", "partially_refunded"],
  fulfilled: ["shipped", "refunded", "partially_refunded"],
  shipped: ["delivered", "refunded", "partially_refunded"],
  delivered: ["refunded", "partially_refunded"],
  refunded: [],
};

/** Whether `from → to` is a move the machine allows. */
export function canTransition(from: OrderStatus, to: OrderStatus): boolean {
  return ALLOWED[from].includes(to);
}

export interface TransitionInput {
  to: OrderStatus;
  reason: string;
  actor: string;
  ref?: string | null;
  details?: Record<string, unknown> | null;
  /** Extra column assignments made in the same UPDATE, e.g. sql`paid_at = now()`. */
  set?: SQL[];
  /** Whether partially_refunded → partially_refunded (a second partial refund) counts as a change. */
  allowSame?: boolean;
}

export type TransitionResult =
  | { changed: true; from: OrderStatus }
  | { changed: false; from: OrderStatus | null; why: "missing" | "same" | "not_allowed" };

/** Moves an order to `to` inside `tx`, recording history; see the module comment for idempotency. */
export async function transitionOrder(tx: Pick<Database, "execute">, orderId: string, input: TransitionInput): Promise<TransitionResult> {
  const rows = await tx.execute<{ status: OrderStatus }>(sql`select status from orders where id = ${orderId} for update`);
  const from = rows.rows[0]?.status ?? null;
  if (from === null) return { changed: false, from: null, why: "missing" };
  if (from === input.to && !input.allowSame) return { changed: false, from, why: "same" };
  if (from !== input.to && !canTransition(from, input.to)) return { changed: false, from, why: "not_allowed" };
  const extra = input.set && input.set.length > 0 ? sql`, ${sql.join(input.set, sql`, `)}` : sql``;
  await tx.execute(sql`update orders set status = ${input.to}, version = version + 1, updated_at = now()${extra} where id = ${orderId}`);
  await tx.execute(sql`insert into order_history (order_id, from_status, to_status, reason, actor, ref, details)
    values (${orderId}, ${from}, ${input.to}, ${input.reason}, ${input.actor}, ${input.ref ?? null}, ${input.details ? JSON.stringify(input.details) : null}::jsonb)`);
  return { changed: true, from };
}
