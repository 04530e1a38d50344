/** Input schemas of the cart and checkout routes: strict (unknown fields are 400), quantities bounded. */
import { z } from "zod";
import { safeText } from "../platform/validation";
import { isIsoCountry, isShippable, regionProblem } from "../platform/iso-3166";

export const sku = z.string().regex(/^[A-Z0-9][A-Z0-9-]{1,63}$/, "must be a SKU");
/** Bounded here for shape; the per-line cap (config) is enforced by the cart with its own message. */
const quantity = z.number().int("must be a whole number").min(1, "must be at least 1").max(1000, "must be at most 1000");

export const emptyBodySchema = z.strictObject({});
export const emptyQuerySchema = z.strictObject({});
export const addItemSchema = z.strictObject({ sku, quantity: quantity.default(1) });
export const setQuantitySchema = z.strictObject({ quantity });
export const skuParamSchema = z.strictObject({ sku });
export const couponSchema = z.strictObject({ code: safeText().trim().regex(/^[A-Z0-9][A-Z0-9_-]{2,31}$/i, "must be 3-32 letters, digits, - or _").transform((s) => s.toUpperCase()) });

const text = (max: number) => safeText().trim().min(1).max(max);

export const shippingAddressSchema = z
  .strictObject({
    name: text(120),
    line1: text(200),
    line2: safeText().trim().max(200).optional(),
    city: text(100),
    region: safeText().trim().regex(/^[A-Za-z0-9]{1,3}$/, "must be a subdivision code such as 'CA'").transform((s) => s.toUpperCase()).optional(),
    postal_code: safeText().trim().regex(/^[A-Za-z0-9 -]{2,12}$/, "must be a postal code"),
    country: safeText()
      .trim()
      .regex(/^[A-Za-z]{2}$/, "must be an ISO 3166 alpha-2 code")
      .transform((s) => s.toUpperCase())
      .refine(isIsoCountry, "must be an ISO 3166-1 alpha-2 country code such as 'US'")
      .refine(isShippable, "we do not ship to this country"),
    phone: safeText().trim().regex(/^\+?[0-9 ()-]{6,20}$/, "must be a phone number").optional(),
  })
  .superRefine((a, ctx) => {
    const problem = regionProblem(a.country, a.region);
    if (problem) ctx.addIssue({ code: "custom", path: ["region"], message: problem });
  });

/** Prices, totals and statuses are not accepted at all: the strict schema rejects them as unknown fields. */
export const checkoutSchema = z.strictObject({
  email: safeText().pipe(z.email().max(254)).optional(),
  shipping_address: shippingAddressSchema,
});

const IDEMPOTENCY_KEY_RULE = "8-100 characters of A-Z a-z 0-9 _ : . -";

export const idempotencyKey = z
  .string({ error: (issue) => (issue.input === undefined ? `is required: send an Idempotency-Key header (${IDEMPOTENCY_KEY_RULE}) with every checkout` : undefined) })
  .regex(/^[A-Za-z0-9_:.-]{8,100}$/, `must be ${IDEMPOTENCY_KEY_RULE}`)
  .meta({ description: "Makes the checkout safe to retry: the same key with the same body replays the first answer.", example: "3f6c2a9e-5b1d-4c8e-9a7f-0d2e4b6a8c10" });

/**
 * The checkout's headers: only the Idempotency-Key is declared. Not strict: a request carries many other headers.
 * (The validator matches header names case-insensitively.)
 */
export const checkoutHeadersSchema = z.object({ "Idempotency-Key": idempotencyKey });

/** The order whose payment the shopper has started (its holds may be extended while Stripe says it is in progress). */
export const paymentStartedSchema = z.strictObject({ order_id: z.uuid() });
