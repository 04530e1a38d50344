/**
 * One zod schema per outbox task, shared by producer and consumer: enqueueOutbox refuses a malformed event before it
 * inserts anything (so the producer's transaction rolls back with it), stores the parsed payload, and what a producer
 * writes is what the consumer's schema accepts.
 */
import { describe, expect, it } from "vitest";
import type { SQL } from "drizzle-orm";
import { PgDialect } from "drizzle-orm/pg-core";
import type { Database } from "../../workers/platform/db";
import { enqueueOutbox, outboxEvent } from "../../workers/platform/outbox";
import type { OutboxEvent } from "../../workers/platform/outbox";
import { TASKS, TaskPayloadError, emailTaskSchema, inventoryAvailabilitySchema, inventoryMovementSchema, searchIndexTaskSchema, stripeEventTaskSchema } from "../../workers/platform/tasks";
import { QUEUE_NAMES } from "../../workers/platform/queues";

const dialect = new PgDialect();

/** A transaction stand-in that records each statement's parameters. */
function recordingTx(): { tx: Pick<Database, "execute">; params: unknown[][] } {
  const params: unknown[][] = [];
  const execute = async (q: SQL): Promise<{ rows: { id: string }[] }> => {
    params.push(dialect.sqlToQuery(q).params);
    return { rows: [{ id: crypto.randomUUID() }] };
  };
  // Only `execute(...).rows` is used by enqueueOutbox; the rest of drizzle's result type is not needed here.
  return { params, tx: { execute } as unknown as Pick<Database, "execute"> };
}

const ORDER = "6f1c2d4e-8a9b-4c3d-9e2f-1a2b3c4d5e6f";

describe("enqueueOutbox checks every event against its task", () => {
  const bad: [string, OutboxEvent][] = [
    ["an unknown task", { queue: "email", taskName: "email.nope", payload: { order_id: ORDER }, traceId: null }],
    ["the wrong queue", { queue: "search-index", taskName: "email.order_confirmation", payload: { order_id: ORDER }, traceId: null }],
    ["a missing field", { queue: "email", taskName: "email.order_refunded", payload: { order_id: ORDER }, traceId: null }],
    ["an unknown field", { queue: "email", taskName: "email.order_confirmation", payload: { order_id: ORDER, total: 5 }, traceId: null }],
    ["a wrong type", { queue: "search-index", taskName: "catalog.product.changed", payload: { product_id: "12" }, traceId: null }],
    ["an id that is not one", { queue: "email", taskName: "email.payment_failed", payload: { order_id: "1; drop table orders" }, traceId: null }],
    ["a bad SKU", { queue: "email", taskName: "email.out_of_stock_after_payment", payload: { order_id: ORDER, skus: ["bk 1"] }, traceId: null }],
  ];
  for (const [why, event] of bad) {
    it(`refuses ${why} and inserts nothing, not even the valid events of the same call`, async () => {
      const { tx, params } = recordingTx();
      const good = outboxEvent("email.order_confirmation", { order_id: ORDER }, null);
      await expect(enqueueOutbox(tx, [good, event])).rejects.toBeInstanceOf(TaskPayloadError);
      expect(params).toEqual([]);
    });
  }

  it("stores the parsed payload (defaults applied) under the task's queue", async () => {
    const { tx, params } = recordingTx();
    const ids = await enqueueOutbox(tx, [outboxEvent("email.out_of_stock_after_payment", { order_id: ORDER }, "trace-1")]);
    expect(ids).toHaveLength(1);
    expect(params[0]).toEqual(["email", "email.out_of_stock_after_payment", JSON.stringify({ order_id: ORDER, skus: [] }), "trace-1"]);
  });
});

describe("producer and consumer share the schema", () => {
  it("every task travels on a queue this Worker has", () => {
    for (const t of Object.values(TASKS)) expect(QUEUE_NAMES).toContain(t.queue);
  });

  it("what a producer may write, the consumer of its queue accepts", () => {
    // The inventory consumer reads two tasks (it picks the schema by task_name, as queues/inventory-consumer.ts does).
    const inventory = { safeParse: (m: { task_name: string; payload: unknown }) => (m.task_name === "inventory.availability" ? inventoryAvailabilitySchema : inventoryMovementSchema).safeParse(m) };
    const consumers = { email: emailTaskSchema, inventory, "search-index": searchIndexTaskSchema, "payment-webhooks": stripeEventTaskSchema };
    const samples: OutboxEvent[] = [
      outboxEvent("email.verify_email", { user_id: ORDER }, null),
      outboxEvent("email.password_reset", { user_id: ORDER }, null),
      outboxEvent("email.password_reset_request", { email: "reader@example.com" }, null),
      outboxEvent("email.signup_attempt", { user_id: ORDER }, null),
      outboxEvent("email.order_confirmation", { order_id: ORDER }, null),
      outboxEvent("email.payment_failed", { order_id: ORDER }, null),
      outboxEvent("email.order_refunded", { order_id: ORDER, amount_refunded: 500 }, null),
      outboxEvent("email.out_of_stock_after_payment", { order_id: ORDER, skus: ["BK00001-PB"] }, null),
      outboxEvent("catalog.product.changed", { product_id: 7, reason: "variant.updated", slug: "a-book", sku: "BK00007-HC" }, null),
      outboxEvent("inventory.movement", { sku: "BK00001-PB", delta: -2, reason: "sale", ref: "order:1", on_hand_after: 8 }, null),
      outboxEvent("inventory.availability", { sku: "BK00001-PB", held: 3, on_hand: 8, seq: 1 }, null),
      outboxEvent("payment.stripe_event", { event_id: "evt_123abc" }, null),
    ];
    expect(new Set(samples.map((s) => s.taskName))).toEqual(new Set(Object.keys(TASKS)));
    for (const s of samples) {
      const consumer = consumers[s.queue as keyof typeof consumers];
      expect(consumer.safeParse({ task_name: s.taskName, payload: s.payload }).success, s.taskName).toBe(true);
    }
  });
});
