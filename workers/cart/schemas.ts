/** Input schemas of the cart and checkout routes: strict (unknown fields are 400), quantities bounded. */
import { z } from "zod";

export const sku = z.string().regex(/^[A-Z0-9][A-Z0-9-]{1,63}$/, "must be a SKU");
/** Bounded here for shape; the per-line cap (config) is enforced by the cart with its own message. */
const quantity = z.number().int("must be a whole number").min(1, "must be at least 1").max(1000, "must be at most 1000");

export const emptyBodySchema = z.strictObject({});
export const emptyQuerySchema = z.strictObject({});
export const addItemSchema = z.strictObject({ sku, quantity: quantity.default(1) });
export const setQuantitySchema = z.strictObject({ quantity });
export const skuParamSchema = z.strictObject({ sku });
export const couponSchema = z.strictObject({ code: z.string().trim().regex(/^[A-Z0-9][A-Z0-9_-]{2,31}$/i, "must be 3-32 letters, digits, - or _").transform((s) => s.toUpperCase()) });

const text = (max: number) => z.string().trim().min(1).max(max);

export const shippingAddressSchema = z.strictObject({
  name: text(120),
  line1: text(200),
  line2: z.string().trim().max(200).optional(),
  city: text(100),
  region: z.string().trim().regex(/^[A-Za-z0-9]{1,3}$/, "must be a subdivision code such as 'CA'").optional(),
  postal_code: z.string().trim().regex(/^[A-Za-z0-9 -]{2,12}$/, "must be a postal code"),
  country: z.string().trim().regex(/^[A-Za-z]{2}$/, "must be an ISO 3166 alpha-2 code").transform((s) => s.toUpperCase()),
  phone: z.string().trim().regex(/^\+?[0-9 ()-]{6,20}$/, "must be a phone number").optional(),
});

/** Prices, totals and statuses are not accepted at all: the strict schema rejects them as unknown fields. */
export const checkoutSchema = z.strictObject({
  email: z.email().max(254).optional(),
  shipping_address: shippingAddressSchema,
});

export const idempotencyKey = z.string().regex(/^[A-Za-z0-9_:.-]{8,100}$/, "must be 8-100 characters of A-Z a-z 0-9 _ : . -");

/** The order whose payment the shopper has started (its holds may be extended while Stripe says it is in progress). */
export const paymentStartedSchema = z.strictObject({ order_id: z.uuid() });
