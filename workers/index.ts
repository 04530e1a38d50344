/** Entry point: wiring only. */
import { fetchHandler } from "./app";
import { handleQueue } from "../queues/dispatcher";
import { handleScheduled } from "./scheduled";

export default {
  fetch: fetchHandler,
  queue: handleQueue,
  scheduled: handleScheduled,
} satisfies ExportedHandler<Env>;

export { StockDO } from "../durable-objects/stock-do";
export { CartDO } from "../durable-objects/cart-do";
