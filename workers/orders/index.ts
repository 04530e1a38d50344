/**
 * The orders domain's public API. Orders own `orders`, `order_lines`, `order_history` and the tax/shipping tables;
 * every status change goes through the state machine. Payments reach orders through syncOrderPayment (called by
 * the payment-webhooks consumer), the cron through reconcileStuckOrders.
 */
export { orderRoutes, orderAdminRoutes, devPaymentRoutes, ORDER_TOKEN_HEADER } from "./routes";
export { orderDetail, listOrders, cancelOrder, staffTransition, staffRefund, simulatePayment } from "./service";
export type { OrderViewer, StaffActor } from "./service";
export type { OrderDetail } from "./response-schemas";
export { syncOrderPayment, expireIfUnpaid, orderIdForPayment } from "./payment-sync";
export type { SyncOutcome } from "./payment-sync";
export { reconcileStuckOrders } from "./reconcile";
export { canTransition } from "./state-machine";
export { orderNumber } from "./order-number";
export { orderEmailFacts } from "./email-facts";
export type { OrderEmailFacts } from "./email-facts";
export { createPendingOrder, attachPaymentIntent, cancelPendingOrder } from "./order-writer";
export type { NewOrder, OrderTotals, PendingOrderResult } from "./order-writer";
export { orderStatuses } from "./tables";
export type { OrderStatus } from "./tables";
