/** One entry point for every queue: picks the consumer by queue name (names carry the environment). */
import { getConfig } from "../workers/platform/config";
import { DbRouter } from "../workers/platform/db";
import { createLogger } from "../workers/platform/logger";
import { consumeEmailBatch } from "./email-consumer";
import { accountSettings } from "../workers/accounts/settings";
import { consumeInventoryBatch } from "./inventory-consumer";
import { consumeSearchIndexBatch } from "./search-index-consumer";
import { Cache } from "../workers/platform/cache";
import { consumeDeadLetters } from "./dead-letter-consumer";
import { consumePaymentBatch } from "./payment-consumer";

/** The Worker's `queue` handler. */
export async function handleQueue(batch: MessageBatch, env: Env, ctx: ExecutionContext): Promise<void> {
  const config = getConfig(env);
  const log = createLogger(config.logLevel, { queue: batch.queue, env: config.environment });
  const db = new DbRouter(config, log);
  try {
    if (/-dlq$/.test(batch.queue)) {
      await consumeDeadLetters(batch, db, log);
    } else if (/-payment-webhooks$/.test(batch.queue)) {
      await consumePaymentBatch(batch, env, config, db, log);
    } else if (/-email$/.test(batch.queue)) {
      await consumeEmailBatch(batch, config, db, log, accountSettings(env).mailsPerAddressPerHour);
    } else if (/-inventory$/.test(batch.queue)) {
      await consumeInventoryBatch(batch, env, db, new Cache(config, log), log);
    } else if (/-search-index$/.test(batch.queue)) {
      await consumeSearchIndexBatch(batch, config, db, new Cache(config, log), log);
    } else {
      // Unknown queues (including dead-letter queues, which are inspected, not consumed): retry so nothing is lost.
      log.error("queue_without_consumer", { messages: batch.messages.length });
      batch.retryAll();
    }
  } finally {
    ctx.waitUntil(db.end());
  }
}
