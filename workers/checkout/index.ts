/**
 * The checkout domain's public API: the steps the CartDO's saga runs (pricing from the primary, the order write).
 * TODO(boundaries): createPendingOrder writes orders' tables; it belongs in orders, called by the saga through
 * workers/orders/index.ts.
 */
export { loadPricing, computeTotals } from "./pricing";
export type { PricedVariant, RegionRules, Totals } from "./pricing";
export { createPendingOrder } from "./order-writer";
export type { NewOrder } from "./order-writer";
export { saleLimitRoutes } from "./sale-limit-routes";
export { customerKeys, ipBucket } from "./customer";
export type { CustomerKeys } from "./customer";
export { checkoutPolicy } from "./policy";
export type { CheckoutPolicy } from "./policy";
export { extendHoldsForPayment } from "./payment-hold";
export type { PaymentHoldContext } from "./payment-hold";
