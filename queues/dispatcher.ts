/** One entry point for every queue: picks the consumer by queue name (names carry the environment). */
import { standaloneServiceContext } from "../workers/platform/service-context";
import { consumeEmailBatch } from "./email-consumer";
import { accountSettings } from "../workers/accounts";
import { consumeInventoryBatch } from "./inventory-consumer";
import { consumeSearchIndexBatch } from "./search-index-consumer";
import { consumeDeadLetters } from "./dead-letter-consumer";
import { consumePaymentBatch } from "./payment-consumer";

/** The Worker's `queue` handler. */
export async function handleQueue(batch: MessageBatch, env: Env, ctx: ExecutionContext): Promise<void> {
  const svc = standaloneServiceContext(env, ctx, { logFields: { queue: batch.queue } });
  const { config, db, log, cache } = svc;
  try {
    if (/-dlq$/.test(batch.queue)) {
      await consumeDeadLetters(batch, db, log);
    } else if (/-payment-webhooks$/.test(batch.queue)) {
      await consumePaymentBatch(batch, svc);
    } else if (/-email$/.test(batch.queue)) {
      await consumeEmailBatch(batch, config, db, log, accountSettings(env).mailsPerAddressPerHour);
    } else if (/-inventory$/.test(batch.queue)) {
      await consumeInventoryBatch(batch, env, db, cache, log);
    } else if (/-search-index$/.test(batch.queue)) {
      await consumeSearchIndexBatch(batch, config, db, cache, log);
    } else {
      // Unknown queues (including dead-letter queues, which are inspected, not consumed): retry so nothing is lost.
      log.error("queue_without_consumer", { messages: batch.messages.length });
      batch.retryAll();
    }
  } finally {
    ctx.waitUntil(svc.end());
  }
}
