/**
 * The order write moved to orders (workers/orders/order-writer.ts). This name stays only because the email consumer
 * (queues/email-consumer.ts, owned elsewhere) still imports orderNumber from here.
 * TODO(boundaries): delete once the email consumer imports orderNumber from workers/orders/index.ts.
 */
export { orderNumber } from "../orders";
