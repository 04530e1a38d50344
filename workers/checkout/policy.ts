/**
 * The checkout abuse policy's numbers (README "Checkout abuse policy"), read from the environment and checked with
 * zod once per env object. Kept apart from platform/config.ts so the policy has one home.
 */
import { z } from "zod";

const count = (max: number, fallback: number) => z.coerce.number().int().min(1).max(max).default(fallback);

const schema = z.object({
  CHECKOUT_HOLD_SECONDS: z.coerce.number().int().min(60).max(3600).default(300),
  CHECKOUT_PAYMENT_HOLD_SECONDS: z.coerce.number().int().min(60).max(3600).default(900),
  CHECKOUT_MAX_UNITS_PER_CUSTOMER: count(1000, 10),
  CHECKOUT_MAX_UNITS_PER_IP: count(10_000, 20),
  CHECKOUT_MAX_UNPAID_ORDERS_PER_CUSTOMER: count(100, 2),
  CHECKOUT_MAX_UNPAID_ORDERS_PER_IP: count(1000, 3),
});

export interface CheckoutPolicy {
  /** How long an unpaid checkout holds its stock. */
  holdSeconds: number;
  /** The longest a hold may last, counted from checkout, once the payment is in progress at Stripe. */
  paymentHoldSeconds: number;
  /** Units of one SKU one customer (account or guest device) may hold at once. */
  maxUnitsPerCustomer: number;
  /** Units of one SKU all customers behind one IP (IPv6: one /64) may hold at once. */
  maxUnitsPerIp: number;
  /** Orders awaiting payment at once, per customer and per IP. */
  maxUnpaidPerCustomer: number;
  maxUnpaidPerIp: number;
}

const cache = new WeakMap<object, CheckoutPolicy>();

/** The policy for `env`; throws naming the variable when one is malformed. */
export function checkoutPolicy(env: Env): CheckoutPolicy {
  const hit = cache.get(env);
  if (hit) return hit;
  const parsed = schema.safeParse(env);
  if (!parsed.success) throw new Error(`Invalid checkout policy: ${parsed.error.issues.map((i) => `${i.path.join(".")} ${i.message}`).join("; ")}`);
  const e = parsed.data;
  const policy: CheckoutPolicy = {
    holdSeconds: e.CHECKOUT_HOLD_SECONDS,
    paymentHoldSeconds: Math.max(e.CHECKOUT_PAYMENT_HOLD_SECONDS, e.CHECKOUT_HOLD_SECONDS),
    maxUnitsPerCustomer: e.CHECKOUT_MAX_UNITS_PER_CUSTOMER,
    maxUnitsPerIp: Math.max(e.CHECKOUT_MAX_UNITS_PER_IP, e.CHECKOUT_MAX_UNITS_PER_CUSTOMER),
    maxUnpaidPerCustomer: e.CHECKOUT_MAX_UNPAID_ORDERS_PER_CUSTOMER,
    maxUnpaidPerIp: Math.max(e.CHECKOUT_MAX_UNPAID_ORDERS_PER_IP, e.CHECKOUT_MAX_UNPAID_ORDERS_PER_CUSTOMER),
  };
  cache.set(env, policy);
  return policy;
}
