/** Cart and checkout routes: validate, call the service, answer. */
import type { z } from "zod";
import type { ErrorCode } from "../platform/error-codes";
import { apiRoute, apiRouter, ok } from "../platform/openapi";
import type { SecurityRequirement } from "../platform/openapi";
import type { FieldCodes } from "../platform/validation";
import { addItemSchema, checkoutHeadersSchema, checkoutSchema, paymentStartedSchema, couponSchema, emptyQuerySchema, setQuantitySchema, skuParamSchema } from "./schemas";
import {
  cartExample,
  cartViewSchema,
  checkoutExample,
  checkoutResultSchema,
  createdCartExample,
  createdCartSchema,
  paymentStartedResultSchema,
} from "./response-schemas";
import { addItem, checkout, paymentStarted, clearCart, createCart, getCart, removeItem, setCoupon, setQuantity } from "./service";

const noStore = { "Cache-Control": "no-store" };
const json = <T extends z.ZodType>(schema: T) => ({ required: true, content: { "application/json": { schema } } });

/** A guest proves its cart with the token from POST /v1/carts; a signed-in customer's cart is theirs by the bearer. */
const CART_SECURITY: SecurityRequirement[] = [{ cartToken: [] }, { bearerAuth: [] }];

/** Every CartDO call goes through the DO access layer. */
const DO_ERRORS = ["DURABLE_OBJECT_UNAVAILABLE", "DURABLE_OBJECT_OVERLOADED"] as const satisfies readonly ErrorCode[];
/** Any operation on the request's cart: no cart for the token (or none sent). */
const CART_ERRORS = ["CART_NOT_FOUND", ...DO_ERRORS] as const satisfies readonly ErrorCode[];
/** Any change: also refused while a checkout holds the cart. */
const CHANGE_ERRORS = [...CART_ERRORS, "CART_LOCKED"] as const satisfies readonly ErrorCode[];
/** A quantity the CartDO checks against the live stock, the per-line cap and the variant's sale limit. */
const STOCK_CHECK_ERRORS = ["STOCK_UNAVAILABLE", "INSUFFICIENT_STOCK", "QUANTITY_LIMIT"] as const satisfies readonly ErrorCode[];

const skuCodes: FieldCodes = { sku: "INVALID_SKU" };
const quantityCodes: FieldCodes = { quantity: "INVALID_QUANTITY", sku: "INVALID_SKU" };

const theCart = ok(cartViewSchema, "The cart after the operation, with live availability per line.", { headers: ["Cache-Control"], example: cartExample });

const createCartRoute = apiRoute({
  method: "post",
  path: "/carts",
  tags: ["cart"],
  summary: "Create a guest cart (or get the signed-in customer's)",
  description:
    "Anonymous: a new guest cart and its `cart_token` (send it as `X-Cart-Token` from then on). With a customer's bearer token: that customer's one cart, created on first use, and `cart_token: null`.",
  // No credential needed; a bearer token is optional and selects the customer's cart.
  security: [{}, { bearerAuth: [] }],
  request: { query: emptyQuerySchema },
  responses: { 201: ok(createdCartSchema, "The cart, with its token for a guest.", { headers: ["Cache-Control"], example: createdCartExample }) },
  errors: DO_ERRORS,
});

const getCartRoute = apiRoute({
  method: "get",
  path: "/cart",
  tags: ["cart"],
  summary: "The cart, with live availability per line",
  description: "A read never touches Postgres: lines carry the price snapshot taken when they were added; availability comes from the stock objects.",
  security: CART_SECURITY,
  request: { query: emptyQuerySchema },
  responses: { 200: ok(cartViewSchema, "The cart.", { headers: ["Cache-Control"], example: cartExample }) },
  errors: CART_ERRORS,
});

const clearCartRoute = apiRoute({
  method: "delete",
  path: "/cart",
  tags: ["cart"],
  summary: "Empty the cart (lines and coupon)",
  security: CART_SECURITY,
  responses: { 200: theCart },
  errors: CHANGE_ERRORS,
});

const addItemRoute = apiRoute({
  method: "post",
  path: "/cart/items",
  tags: ["cart"],
  summary: "Add units of a variant (summed with an existing line)",
  description: "Checked against the stock free right now, the per-line cap (10), the variant's sale limit and the cart cap (50 lines). The price shown is display only: checkout re-prices.",
  security: CART_SECURITY,
  request: { body: json(addItemSchema) },
  responses: { 200: theCart },
  errors: [...CHANGE_ERRORS, ...STOCK_CHECK_ERRORS, "VARIANT_NOT_FOUND", "DATABASE_UNAVAILABLE", "ITEM_UNAVAILABLE", "MIXED_CURRENCIES", "CART_FULL"],
  fieldCodes: { json: quantityCodes },
});

const setQuantityRoute = apiRoute({
  method: "patch",
  path: "/cart/items/{sku}",
  tags: ["cart"],
  summary: "Set a line's quantity",
  security: CART_SECURITY,
  request: { params: skuParamSchema, body: json(setQuantitySchema) },
  responses: { 200: theCart },
  errors: [...CHANGE_ERRORS, ...STOCK_CHECK_ERRORS, "CART_ITEM_NOT_FOUND"],
  fieldCodes: { param: skuCodes, json: quantityCodes },
});

const removeItemRoute = apiRoute({
  method: "delete",
  path: "/cart/items/{sku}",
  tags: ["cart"],
  summary: "Remove a line",
  security: CART_SECURITY,
  request: { params: skuParamSchema },
  responses: { 200: theCart },
  errors: [...CHANGE_ERRORS, "CART_ITEM_NOT_FOUND"],
  fieldCodes: { param: skuCodes },
});

const setCouponRoute = apiRoute({
  method: "put",
  path: "/cart/coupon",
  tags: ["cart"],
  summary: "Put a coupon code in the cart's slot (resolved at checkout)",
  security: CART_SECURITY,
  request: { body: json(couponSchema) },
  responses: { 200: theCart },
  errors: CHANGE_ERRORS,
  fieldCodes: { json: { code: "INVALID_COUPON" } },
});

const removeCouponRoute = apiRoute({
  method: "delete",
  path: "/cart/coupon",
  tags: ["cart"],
  summary: "Remove the coupon code",
  security: CART_SECURITY,
  responses: { 200: theCart },
  errors: CHANGE_ERRORS,
});

/** Everything a checkout can answer besides validation: the CartDO's lock and record, the saga's steps, the limits. */
const CHECKOUT_ERRORS = [
  ...CHANGE_ERRORS,
  // The limits in front (fail closed) and the signed-in customer's email, read from the primary.
  "RATE_LIMIT_UNAVAILABLE",
  "DATABASE_UNAVAILABLE",
  // The CartDO: the idempotency record, the lock, the cart's state.
  "IDEMPOTENCY_KEY_REUSED",
  "CHECKOUT_IN_PROGRESS",
  "CART_ALREADY_ORDERED",
  "CART_EMPTY",
  "EMAIL_REQUIRED",
  // The saga: holds, re-pricing, the order, the payment (workers/checkout/saga.ts).
  "STOCK_UNAVAILABLE",
  "OUT_OF_STOCK",
  "PURCHASE_LIMIT",
  "ITEM_UNAVAILABLE",
  "MIXED_CURRENCIES",
  "UNPAID_ORDER_LIMIT",
  "PAYMENT_DECLINED",
  "PAYMENT_PROVIDER_REFUSED",
  // The one Stripe refusal the saga passes on with its own code; others are PAYMENT_PROVIDER_REFUSED.
  "PAYMENT_STATE_CONFLICT",
  // Faults: before the order exists everything is given back; after it, the same key resumes the same order.
  "CHECKOUT_UNAVAILABLE",
  "CHECKOUT_FAILED",
  "PAYMENT_PROVIDER_UNAVAILABLE",
] as const satisfies readonly ErrorCode[];

const checkoutRoute = apiRoute({
  method: "post",
  path: "/checkout",
  tags: ["checkout"],
  summary: "Check the cart out: stock holds, the order, the PaymentIntent",
  description:
    "A saga under the cart's lock: holds in SKU order, re-pricing from the primary (client prices are never read), the order and its PaymentIntent. The same `Idempotency-Key` with the same body always leads to the same order: a repeat replays the first answer (200, `Idempotent-Replayed: true`); one that arrives while the first still runs waits for it, then answers 409 `CHECKOUT_IN_PROGRESS` with `Retry-After`. Faults answer 503 with `Retry-After`; retry with the same key. Guests must send `email`; a customer's account address is used.",
  security: CART_SECURITY,
  request: { headers: checkoutHeadersSchema, body: json(checkoutSchema) },
  responses: {
    201: ok(checkoutResultSchema, "The order (pending payment), the client secret for Stripe.js and the guest's order token.", { headers: ["Cache-Control"], example: checkoutExample }),
    200: ok(checkoutResultSchema, "A replay: the answer of the first request with this Idempotency-Key.", { headers: ["Cache-Control", "Idempotent-Replayed"], example: checkoutExample }),
  },
  errors: CHECKOUT_ERRORS,
  fieldCodes: { header: { "Idempotency-Key": "IDEMPOTENCY_KEY_REQUIRED" }, json: { email: "INVALID_EMAIL", shipping_address: "INVALID_ADDRESS" } },
});

const paymentStartedRoute = apiRoute({
  method: "post",
  path: "/checkout/payment-started",
  tags: ["checkout"],
  summary: "Keep the order's stock longer while its payment is in progress",
  description:
    "Call when the shopper's payment is under way at Stripe (3-D Secure, an asynchronous method). The PaymentIntent's status is read from Stripe; the holds move to the longer payment hold, counted from checkout, so repeating the call cannot hold stock forever.",
  security: CART_SECURITY,
  request: { body: json(paymentStartedSchema) },
  responses: { 200: ok(paymentStartedResultSchema, "The holds' new expiry.", { headers: ["Cache-Control"] }) },
  errors: [
    ...CART_ERRORS,
    "RATE_LIMIT_UNAVAILABLE",
    "DATABASE_UNAVAILABLE",
    "ORDER_NOT_FOUND",
    "ORDER_NOT_PENDING",
    "PAYMENT_NOT_STARTED",
    "HOLDS_EXPIRED",
    "PAYMENT_PROVIDER_UNAVAILABLE",
    "PAYMENT_PROVIDER_REFUSED",
  ],
  fieldCodes: { json: { order_id: "INVALID_ORDER_ID" } },
});

export const cartRoutes = apiRouter()
  .openapi(createCartRoute, async (c) => c.json({ data: await createCart(c) }, 201, noStore))
  .openapi(getCartRoute, async (c) => c.json({ data: await getCart(c) }, 200, noStore))
  .openapi(clearCartRoute, async (c) => c.json({ data: await clearCart(c) }, 200, noStore))
  .openapi(addItemRoute, async (c) => {
    const { sku, quantity } = c.req.valid("json");
    return c.json({ data: await addItem(c, sku, quantity) }, 200, noStore);
  })
  .openapi(setQuantityRoute, async (c) => c.json({ data: await setQuantity(c, c.req.valid("param").sku, c.req.valid("json").quantity) }, 200, noStore))
  .openapi(removeItemRoute, async (c) => c.json({ data: await removeItem(c, c.req.valid("param").sku) }, 200, noStore))
  .openapi(setCouponRoute, async (c) => c.json({ data: await setCoupon(c, c.req.valid("json").code) }, 200, noStore))
  .openapi(removeCouponRoute, async (c) => c.json({ data: await setCoupon(c, null) }, 200, noStore))
  .openapi(checkoutRoute, async (c) => {
    const { ok: _ok, replayed, ...body } = await checkout(c, c.req.valid("header")["Idempotency-Key"], c.req.valid("json"));
    return replayed ? c.json({ data: body }, 200, { ...noStore, "Idempotent-Replayed": "true" }) : c.json({ data: body }, 201, noStore);
  })
  .openapi(paymentStartedRoute, async (c) => c.json({ data: await paymentStarted(c, c.req.valid("json").order_id) }, 200, noStore));
