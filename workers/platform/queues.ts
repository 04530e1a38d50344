/** Logical queue names (as used in outbox rows and dead letters) and their producer bindings. */

export const QUEUE_NAMES = ["email", "inventory", "payment-webhooks", "search-index"] as const;
export type QueueName = (typeof QUEUE_NAMES)[number];

/** The producer binding of a logical queue, or null for a name this Worker cannot send to. */
export function queueBinding(env: Env, queue: string): Queue | null {
  switch (queue) {
    case "email":
      return env.EMAIL_QUEUE;
    case "inventory":
      return env.INVENTORY_QUEUE;
    case "payment-webhooks":
      return env.PAYMENT_QUEUE;
    case "search-index":
      return env.SEARCH_INDEX_QUEUE;
    default:
      return null;
  }
}

/** The logical name of a deployed queue (`nexusbooks-staging-payment-webhooks-dlq` → `payment-webhooks`). */
export function logicalQueueName(deployed: string): string | null {
  const base = deployed.replace(/-dlq$/, "");
  return QUEUE_NAMES.find((q) => base.endsWith(`-${q}`)) ?? null;
}
