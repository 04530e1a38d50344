/**
 * Outbox tasks: one zod schema per `task_name`, the single contract between the producer that writes the outbox row
 * (enqueueOutbox parses the payload before the insert, so a malformed event aborts the producer's transaction instead
 * of failing later in a consumer) and the consumer that reads the message (it parses with the same schema). Payloads
 * carry ids, never state: consumers re-read what they need.
 */
import { z } from "zod";
import type { QueueName } from "./queues";

/** A task: its name, the queue it travels on, and its payload schema. */
export interface TaskDef<N extends string = string, P extends z.ZodType<Record<string, unknown>> = z.ZodType<Record<string, unknown>>> {
  name: N;
  queue: QueueName;
  payload: P;
}

function task<N extends string, P extends z.ZodType<Record<string, unknown>>>(name: N, queue: QueueName, payload: P): TaskDef<N, P> {
  return { name, queue, payload };
}

const SKU = z.string().regex(/^[A-Z0-9][A-Z0-9-]{1,63}$/, "must be a SKU");
const orderId = z.uuid();

export const verifyEmailTask = task("email.verify_email", "email", z.strictObject({ user_id: z.uuid() }));
export const passwordResetTask = task("email.password_reset", "email", z.strictObject({ user_id: z.uuid() }));
/** Keyed by the address, so a reset request does the same work whether or not an account has it. */
export const passwordResetRequestTask = task("email.password_reset_request", "email", z.strictObject({ email: z.string().min(3).max(254) }));
/** Someone tried to sign up with a taken address: its owner is told (the answer to the sign-up is the same). */
export const signupAttemptTask = task("email.signup_attempt", "email", z.strictObject({ user_id: z.uuid() }));
export const orderConfirmationTask = task("email.order_confirmation", "email", z.strictObject({ order_id: orderId }));
export const paymentFailedTask = task("email.payment_failed", "email", z.strictObject({ order_id: orderId }));
export const orderRefundedTask = task(
  "email.order_refunded",
  "email",
  z.strictObject({ order_id: orderId, amount_refunded: z.number().int().min(0).max(100_000_000) }),
);
export const outOfStockAfterPaymentTask = task(
  "email.out_of_stock_after_payment",
  "email",
  z.strictObject({ order_id: orderId, skus: z.array(SKU).max(200).default([]) }),
);

/** A product changed (price, status, stock, sales): search re-reads it from the primary and reindexes it. */
export const productChangedTask = task(
  "catalog.product.changed",
  "search-index",
  z.strictObject({
    product_id: z.number().int().positive(),
    /** Why it changed (`variant.updated`, `stock.changed`, `sale` …): for logs; consumers do not branch on it. */
    reason: z.string().regex(/^[a-z][a-z_.]{0,63}$/).optional(),
    slug: z.string().min(1).max(300).optional(),
    sku: SKU.optional(),
  }),
);

/** One StockDO ledger entry on its way to Postgres; the envelope's job_id is the movement id. */
export const inventoryMovementTask = task(
  "inventory.movement",
  "inventory",
  z.strictObject({
    sku: SKU,
    delta: z.number().int(),
    reason: z.enum(["initial", "restock", "sale", "return", "adjustment", "correction"]),
    ref: z.string().max(200).nullable(),
    on_hand_after: z.number().int().min(0),
    /** Present on staff adjustments: the audit row the consumer writes in the movement's transaction. */
    audit: z
      .strictObject({
        actor_id: z.string().max(200).nullable(),
        actor_role: z.string().min(1).max(50),
        note: z.string().max(200).nullable(),
        request_id: z.string().max(200).nullable(),
        idempotency_key: z.string().max(100).nullable(),
      })
      .optional(),
  }),
);

/** A StockDO's coalesced availability report: units held right now; the newest `seq` wins. */
export const inventoryAvailabilityTask = task(
  "inventory.availability",
  "inventory",
  z.strictObject({
    sku: SKU,
    held: z.number().int().min(0),
    on_hand: z.number().int(),
    seq: z.number().int().min(1),
  }),
);

/** A verified Stripe webhook event, stored in payment_events; the consumer syncs the order it belongs to. */
export const stripeEventTask = task("payment.stripe_event", "payment-webhooks", z.strictObject({ event_id: z.string().regex(/^evt_\w{1,250}$/) }));

/** Every task, by name. */
export const TASKS = {
  [verifyEmailTask.name]: verifyEmailTask,
  [passwordResetTask.name]: passwordResetTask,
  [passwordResetRequestTask.name]: passwordResetRequestTask,
  [signupAttemptTask.name]: signupAttemptTask,
  [orderConfirmationTask.name]: orderConfirmationTask,
  [paymentFailedTask.name]: paymentFailedTask,
  [orderRefundedTask.name]: orderRefundedTask,
  [outOfStockAfterPaymentTask.name]: outOfStockAfterPaymentTask,
  [productChangedTask.name]: productChangedTask,
  [inventoryMovementTask.name]: inventoryMovementTask,
  [inventoryAvailabilityTask.name]: inventoryAvailabilityTask,
  [stripeEventTask.name]: stripeEventTask,
} as const;
export type TaskName = keyof typeof TASKS;
type AnyTask = (typeof TASKS)[TaskName];
/** What a producer passes for task `N` (before defaults). */
export type TaskInput<N extends TaskName> = z.input<(typeof TASKS)[N]["payload"]>;
/** What a consumer gets for task `N` (after defaults). */
export type TaskPayload<N extends TaskName> = z.output<(typeof TASKS)[N]["payload"]>;

/** The definition of `name`, or null for a name no one produces. */
export function taskDef(name: string): AnyTask | null {
  return Object.hasOwn(TASKS, name) ? TASKS[name as TaskName] : null;
}

/** The `{ task_name, payload }` message schema of one task, for consumers' discriminated unions. */
export function messageSchema<N extends string, P extends z.ZodType<Record<string, unknown>>>(t: TaskDef<N, P>) {
  return z.object({ task_name: z.literal(t.name), payload: t.payload });
}

/** The email queue's tasks. */
export const emailTaskSchema = z.discriminatedUnion("task_name", [
  messageSchema(verifyEmailTask),
  messageSchema(passwordResetTask),
  messageSchema(passwordResetRequestTask),
  messageSchema(signupAttemptTask),
  messageSchema(orderConfirmationTask),
  messageSchema(paymentFailedTask),
  messageSchema(orderRefundedTask),
  messageSchema(outOfStockAfterPaymentTask),
]);
export type EmailTask = z.output<typeof emailTaskSchema>;
export const inventoryMovementSchema = messageSchema(inventoryMovementTask);
export const inventoryAvailabilitySchema = messageSchema(inventoryAvailabilityTask);
/** The inventory queue's tasks (StockDO ledger entries and availability reports). */
export const inventoryTaskSchema = z.discriminatedUnion("task_name", [inventoryMovementSchema, inventoryAvailabilitySchema]);
export const searchIndexTaskSchema = messageSchema(productChangedTask);
export const stripeEventTaskSchema = messageSchema(stripeEventTask);

/** Thrown when a producer writes an event that does not match its task's schema (a bug: the transaction aborts). */
export class TaskPayloadError extends Error {
  constructor(
    readonly taskName: string,
    readonly issues: string[],
  ) {
    super(`outbox task ${taskName} is malformed: ${issues.join("; ")}`);
    this.name = "TaskPayloadError";
  }
}

/**
 * Validates one event against its task before it is written: the name must be a known task, the queue the task's
 * queue, the payload its schema. Returns the parsed payload (defaults applied), which is what gets stored.
 */
export function checkTaskEvent(queue: string, taskName: string, payload: unknown): Record<string, unknown> {
  const def = taskDef(taskName);
  if (!def) throw new TaskPayloadError(taskName, ["no such task (add it to workers/platform/tasks.ts)"]);
  if (def.queue !== queue) throw new TaskPayloadError(taskName, [`travels on ${def.queue}, not ${queue}`]);
  const parsed = (def.payload as z.ZodType<Record<string, unknown>>).safeParse(payload);
  if (!parsed.success) throw new TaskPayloadError(taskName, parsed.error.issues.map((i) => `${i.path.join(".") || "(payload)"} ${i.message}`));
  return parsed.data;
}
