/** What the Worker and the CartDO exchange over RPC. Plain data only: it crosses the RPC boundary by structured clone. */
import type { CheckoutFailure, CheckoutSuccess, SagaInput, SagaResult, ShippingAddress } from "../checkout";

export type { CheckoutSuccess, SagaInput, SagaResult, ShippingAddress };
/** A refusal the Worker turns into the error envelope. */
export type CartFailure = CheckoutFailure;

/** A sellable variant as the catalog describes it when it is added to a cart (the cart's price snapshot). */
export interface VariantInfo {
  sku: string;
  variantId: number;
  productId: number;
  title: string;
  slug: string;
  format: string;
  unitPrice: number;
  currency: string;
  purchasable: boolean;
}

export interface CartLineView {
  sku: string;
  title: string;
  slug: string;
  format: string;
  quantity: number;
  unit_price: number;
  line_total: number;
  currency: string;
  /** Units the shop can sell right now (null: not counted, e.g. ebooks). */
  available: number | null;
  in_stock: boolean;
}

export type CartStatus = "open" | "checking_out" | "ordered";

export interface CartView {
  id: string;
  status: CartStatus;
  version: number;
  currency: string;
  lines: CartLineView[];
  item_count: number;
  subtotal: number;
  coupon: string | null;
  /** When the cart expires if nothing touches it. */
  expires_at: string;
  /** The order of the cart's last checkout, while the cart is locked or ordered. */
  order_id: string | null;
}

export interface CartCaps {
  maxLineQty: number;
  maxLines: number;
  idleSeconds: number;
}


export type CartResult = { ok: true; cart: CartView } | CartFailure;


export interface CheckoutRequest {
  cartId: string;
  idempotencyKey: string;
  /** sha-256 of the request body and the caller: the same key with another body is refused. */
  requestHash: string;
  userId: string | null;
  /** Required for guests; a signed-in user's own address is used otherwise. */
  email: string | null;
  shippingAddress: ShippingAddress;
  traceId: string | null;
  /** Keys for the per-customer and per-IP caps (workers/checkout/customer.ts). */
  customer: { customer: string; ip: string };
}


export type CheckoutOutcome = CheckoutSuccess | CartFailure;

/** POST /checkout/payment-started: the holds' new expiry while the payment is in progress at Stripe. */
export interface PaymentStartedResult {
  order_id: string;
  payment_status: "requires_action" | "processing";
  holds_expire_at: string;
}

/** The CartDO's answer to beginCheckout: run (or resume) the saga under this run id, or answer the shopper now. */
export type BeginCheckout = { kind: "run"; runId: string; input: SagaInput } | { kind: "answer"; outcome: CheckoutOutcome };
