/**
 * What the checkout saga takes and answers. Plain data: the input is stored with the CartDO's lock (so a retry can
 * resume it) and the outcome crosses the CartDO's RPC boundary by structured clone.
 */
import type { CustomerKeys } from "./customer";
import type { ErrorCode } from "../platform/error-codes";

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

/** What the CartDO stores with the lock: everything the saga needs to run again. */
export interface SagaInput {
  cartId: string;
  orderId: string;
  idempotencyKey: string;
  userId: string | null;
  email: string;
  shippingAddress: ShippingAddress;
  coupon: string | null;
  items: { sku: string; qty: number; unitPrice: number }[];
  traceId: string | null;
  /** Whose checkout this is, for the per-customer and per-IP caps (absent only in records from before the caps). */
  customer?: CustomerKeys;
}

/** A refusal the Worker turns into the error envelope (`retryAfter` seconds becomes the Retry-After header). */
export interface CheckoutFailure {
  ok: false;
  /** A registered code: its status comes from the error registry. */
  code: ErrorCode;
  message: string;
  details?: unknown;
  retryAfter?: number;
}

export interface CheckoutSuccess {
  ok: true;
  replayed: boolean;
  order: {
    id: string;
    number: string;
    /** Always `pending_payment`: the order checkout just wrote (or a replay of that answer). */
    status: "pending_payment";
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

/**
 * How a saga run ended, for the CartDO's record. done: store the answer and mark the cart ordered; unlock: every
 * step was compensated, forget the attempt; keep: the order may exist, leave the lock so the same key resumes it.
 */
export type SagaResult = { disposition: "done"; outcome: CheckoutSuccess } | { disposition: "unlock" | "keep"; outcome: CheckoutFailure };
