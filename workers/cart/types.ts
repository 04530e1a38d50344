/** What the Worker and the CartDO exchange over RPC. Plain data only: it crosses the RPC boundary by structured clone. */

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

/** A refusal the Worker turns into the error envelope. */
export interface CartFailure {
  ok: false;
  status: 404 | 409 | 422 | 503;
  code: string;
  message: string;
  details?: unknown;
}

export type CartResult = { ok: true; cart: CartView } | CartFailure;

export interface ShippingAddress {
  name: string;
  line1: string;
  line2?: string | undefined;
  city: string;
  region?: string | undefined;
  postal_code: string;
  country: string;
  phone?: string | undefined;
}

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

export interface CheckoutSuccess {
  ok: true;
  replayed: boolean;
  order: {
    id: string;
    number: string;
    status: string;
    currency: string;
    subtotal: number;
    discount_total: number;
    tax_total: number;
    shipping_total: number;
    grand_total: number;
    holds_expire_at: string;
    lines: { sku: string; title: string; quantity: number; unit_price: number; line_total: number }[];
    /** Price changes since the items were added (server prices win). */
    repriced: { sku: string; was: number; now: number }[];
  };
  payment: { provider: "stripe"; payment_intent_id: string; client_secret: string };
  /** Lets a guest read the order later (GET /v1/orders/:id with X-Order-Token). */
  order_token: string;
}

export type CheckoutOutcome = CheckoutSuccess | CartFailure;
