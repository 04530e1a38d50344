/**
 * The checkout domain's public API: the saga the Worker runs once the CartDO holds the lock (its steps, their
 * compensations and their ports), pricing, the abuse policy and the customer keys it counts by.
 */
export { loadPricing, computeTotals } from "./pricing";
export type { PricedVariant, RegionRules, Totals } from "./pricing";
export { runCheckoutSaga, RETRY_AFTER_SECONDS } from "./saga";
export { sagaPorts, stockPort, ordersPort, paymentsPort } from "./saga-ports";
export type { SagaPorts, StockPort, OrdersPort, PaymentsPort, HoldOwners } from "./saga-ports";
export type { SagaInput, SagaResult, CheckoutFailure, CheckoutSuccess, ShippingAddress } from "./saga-types";
export { saleLimitRoutes } from "./sale-limit-routes";
export { customerKeys, ipBucket } from "./customer";
export type { CustomerKeys } from "./customer";
export { checkoutPolicy } from "./policy";
export type { CheckoutPolicy } from "./policy";
export { extendHoldsForPayment } from "./payment-hold";
export type { PaymentHoldContext } from "./payment-hold";
