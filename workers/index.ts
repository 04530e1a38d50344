/** Entry point: wiring only. */
import { app } from "./app";
import { handleQueue } from "../queues/dispatcher";
import { handleScheduled } from "./scheduled";

export default {
  fetch: app.fetch,
  queue: handleQueue,
  scheduled: handleScheduled,
} satisfies ExportedHandler<Env>;

export { StockDO } from "../durable-objects/stock-do";
export { CartDO } from "../durable-objects/cart-do";
