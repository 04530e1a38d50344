/**
 * The cart domain's public API: the cart routes, the guest-cart merge at login, and the types the CartDO speaks
 * (the CartDO in durable-objects/ is the only writer of a cart).
 */
export { cartRoutes } from "./routes";
export { withCartMerge } from "./merge";
export type { MergeSummary } from "./merge";
export type {
  VariantInfo,
  CartLineView,
  CartStatus,
  CartView,
  CartCaps,
  CartFailure,
  CartResult,
  ShippingAddress,
  CheckoutRequest,
  CheckoutSuccess,
  CheckoutOutcome,
  BeginCheckout,
  SagaInput,
  SagaResult,
} from "./types";
/** The cart's operations, for the storefront's pages (the routes above call the same functions). */
export { createCart, getCart, addItem, setQuantity, removeItem, setCoupon, checkout } from "./service";
export { addItemSchema, setQuantitySchema, couponSchema, checkoutSchema, shippingAddressSchema, sku as skuSchema } from "./schemas";
