/**
 * The storefront's shopping pages: add to cart (from the book page), the cart, guest checkout, payment and the
 * guest's order link. Every POST is a plain form (works without JavaScript), checks the CSRF token before anything
 * changes, and answers 303 to a page (Post/Redirect/Get). Every page here is one shopper's: `private, no-store`.
 * They call the cart and orders services directly, as the API's routes do.
 */
import { z } from "zod";
import type { Context, MiddlewareHandler } from "hono";
import type { JSX } from "hono/jsx/jsx-runtime";
import type { AppEnv } from "../platform/context";
import { AppError } from "../platform/errors";
import type { ErrorCode } from "../platform/error-codes";
import { apiRoute, apiRouter, empty, prebuilt } from "../platform/openapi";
import { pageContentSecurityPolicy } from "../platform/security";
import { serviceContext } from "../platform/service-context";
import { addItem, checkout, checkoutSchema, createCart, getCart, removeItem, setCoupon, setQuantity, skuSchema } from "../cart";
import type { CartView } from "../cart";
import { categoryTree } from "../catalog";
import type { CategoryNode } from "../catalog";
import { orderDetail, simulatePayment } from "../orders";
import { stripeClient, stripeRefusal } from "../payments";
import { CartPage } from "./cart-page";
import { CheckoutPage, PaymentPage } from "./checkout-page";
import type { CheckoutField, PaymentStep } from "./checkout-page";
import { OrderPage } from "./order-page";
import { CSRF_FIELD, assertCsrf, csrfToken, noStore, rememberCart, useCartCookie } from "./web-session";
import { PAGE_DIRECTIVES, pageCsp } from "./page-policy";

/** The deployed payment page's policy: Stripe.js, its frames and its API, on this page only. */
export const STRIPE_PAGE_DIRECTIVES = {
  ...PAGE_DIRECTIVES,
  "script-src": ["'self'", "https://js.stripe.com"],
  "frame-src": ["https://js.stripe.com", "https://hooks.stripe.com"],
  "connect-src": ["'self'", "https://api.stripe.com"],
  "img-src": ["'self'", "https://*.stripe.com"],
} as const;
const stripeCsp = pageContentSecurityPolicy(STRIPE_PAGE_DIRECTIVES);

/** Where the local Stripe fake is configured (development, test), payment is the test-card step. */
const usesTestCard = (c: Context<AppEnv>): boolean => {
  const config = c.get("config");
  return config.stripe.apiBase !== null && (config.environment === "development" || config.environment === "test");
};

const paymentCsp: MiddlewareHandler<AppEnv> = (c, next) => (usesTestCard(c) ? pageCsp(c, next) : stripeCsp(c, next));

const NO_STORE = ["Cache-Control"] as const;
const headersOf = (names: Parameters<typeof empty>[1]) => empty("", names).headers;
const page = (description: string) => ({ description, headers: headersOf(NO_STORE), content: { "text/html": { schema: z.string().meta({ description: "The page." }) } } });
const seeOther = (description: string) => ({ description, headers: headersOf(["Location", "Cache-Control", "Set-Cookie"]) });
const form = <T extends z.ZodType>(schema: T) => ({ required: true, content: { "application/x-www-form-urlencoded": { schema } } });
const noQuery = z.strictObject({});
const csrfField = z.string().max(200).optional().meta({ description: "The page's CSRF token (double submit: equals the `nb_sf_csrf` cookie)." });
/** Bounded like the API's (1-1000 units); the cart's per-line cap answers QUANTITY_LIMIT on top. */
const quantityField = z.coerce.number().int().min(1).max(1000);
const orderIdParam = z.object({ id: z.uuid() });
const orderToken = z.string().min(10).max(500);

const CART_ERRORS = ["CSRF_FAILED", "DURABLE_OBJECT_UNAVAILABLE", "DURABLE_OBJECT_OVERLOADED"] as const satisfies readonly ErrorCode[];

/** Refusals shown on the cart page after a redirect, by code: the page never reflects text from the request. */
const NOTICES: Partial<Record<ErrorCode, string>> = {
  QUANTITY_LIMIT: "That is more than we sell of one book in one order.",
  INSUFFICIENT_STOCK: "We do not have that many in stock.",
  STOCK_UNAVAILABLE: "Stock could not be checked just now; try again.",
  ITEM_UNAVAILABLE: "That book is not available.",
  VARIANT_NOT_FOUND: "That book is not available.",
  CART_FULL: "Your cart is full.",
  CART_LOCKED: "Your cart is being checked out.",
  CART_ITEM_NOT_FOUND: "That book is no longer in your cart.",
  MIXED_CURRENCIES: "That book is priced in another currency than your cart.",
  CART_EMPTY: "Your cart is empty.",
};
const noticeCode = z.string().regex(/^[A-Z_]{3,40}$/).optional();

/** The cart's refusals a shopper can fix turn into a notice on the cart page; anything else stays an error. */
async function orNotice(c: Context<AppEnv>, change: () => Promise<unknown>): Promise<Response> {
  try {
    await change();
    return redirect(c, "/cart");
  } catch (err) {
    if (err instanceof AppError && NOTICES[err.code]) return redirect(c, `/cart?notice=${err.code}`);
    throw err;
  }
}

function redirect(c: Context<AppEnv>, location: string): Response {
  noStore(c);
  return c.redirect(location, 303);
}

async function render(c: Context<AppEnv>, element: JSX.Element, status: 200 | 422 = 200): Promise<Response> {
  noStore(c);
  return c.html(`<!doctype html>\n${String(await element)}`, status);
}

function navOf(tree: readonly CategoryNode[]): readonly CategoryNode[] {
  const [only, ...rest] = tree;
  return only && rest.length === 0 ? only.children : tree;
}
const nav = async (c: Context<AppEnv>) => navOf(await categoryTree(c));

/** The browser's cart, or null when it has none (no cookie, or a cart that expired). */
async function browserCart(c: Context<AppEnv>): Promise<CartView | null> {
  if (!useCartCookie(c)) return null;
  try {
    return await getCart(c);
  } catch (err) {
    if (err instanceof AppError && err.code === "CART_NOT_FOUND") return null;
    throw err;
  }
}

const addRoute = apiRoute({
  method: "post",
  path: "/cart/items",
  tags: ["storefront"],
  summary: "Add to cart (the book page's form): creates the browser's cart on first add, then 303 to /cart",
  description: "Form fields as `POST /v1/cart/items`, plus the CSRF token. A refusal the shopper can fix (a quantity over the cap, no stock) is a notice on /cart.",
  middleware: [pageCsp],
  request: { query: noQuery, body: form(z.object({ sku: skuSchema, quantity: quantityField.default(1), [CSRF_FIELD]: csrfField })) },
  responses: { 303: seeOther("To /cart.") },
  errors: [...CART_ERRORS, "CART_NOT_FOUND", "VARIANT_NOT_FOUND", "DATABASE_UNAVAILABLE", "STOCK_UNAVAILABLE", "RATE_LIMIT_UNAVAILABLE"],
  fieldCodes: { form: { sku: "INVALID_SKU", quantity: "INVALID_QUANTITY" } },
});

const cartPageRoute = apiRoute({
  method: "get",
  path: "/cart",
  tags: ["storefront"],
  summary: "The cart page: lines, quantities, remove, the server's subtotal, the coupon field",
  middleware: [pageCsp],
  request: { query: z.strictObject({ notice: noticeCode }) },
  responses: { 200: page("The cart page (an empty-cart page when the browser has no cart).") },
  errors: [...CART_ERRORS],
});

const setQuantityRoute = apiRoute({
  method: "post",
  path: "/cart/items/{sku}",
  tags: ["storefront"],
  summary: "Change a line's quantity (the cart page's form), then 303 to /cart",
  middleware: [pageCsp],
  request: { params: z.object({ sku: skuSchema }), query: noQuery, body: form(z.object({ quantity: quantityField, [CSRF_FIELD]: csrfField })) },
  responses: { 303: seeOther("To /cart.") },
  errors: [...CART_ERRORS, "CART_NOT_FOUND"],
  fieldCodes: { param: { sku: "INVALID_SKU" }, form: { quantity: "INVALID_QUANTITY" } },
});

const removeRoute = apiRoute({
  method: "post",
  path: "/cart/items/{sku}/remove",
  tags: ["storefront"],
  summary: "Remove a line (the cart page's form), then 303 to /cart",
  middleware: [pageCsp],
  request: { params: z.object({ sku: skuSchema }), query: noQuery, body: form(z.object({ [CSRF_FIELD]: csrfField })) },
  responses: { 303: seeOther("To /cart.") },
  errors: [...CART_ERRORS, "CART_NOT_FOUND"],
  fieldCodes: { param: { sku: "INVALID_SKU" } },
});

const couponRoute = apiRoute({
  method: "post",
  path: "/cart/coupon",
  tags: ["storefront"],
  summary: "Put a coupon code in the cart (empty removes it), then 303 to /cart; checkout resolves it",
  middleware: [pageCsp],
  request: {
    query: noQuery,
    // Empty removes the coupon.
    body: form(z.object({ code: z.string().trim().regex(/^(?:[A-Za-z0-9][A-Za-z0-9_-]{2,31})?$/, "must be empty or 3-32 letters, digits, - or _"), [CSRF_FIELD]: csrfField })),
  },
  responses: { 303: seeOther("To /cart.") },
  errors: [...CART_ERRORS, "CART_NOT_FOUND"],
  fieldCodes: { form: { code: "INVALID_COUPON" } },
});

const checkoutPageRoute = apiRoute({
  method: "get",
  path: "/checkout",
  tags: ["storefront"],
  summary: "Guest checkout: email and shipping address (303 to /cart when the cart is empty)",
  middleware: [pageCsp],
  request: { query: noQuery },
  responses: { 200: page("The checkout form."), 303: seeOther("To /cart: nothing to check out.") },
  errors: [...CART_ERRORS],
});

const checkoutFields = z.object({
  email: z.string().max(300).optional(),
  name: z.string().max(300).optional(),
  line1: z.string().max(300).optional(),
  line2: z.string().max(300).optional(),
  city: z.string().max(300).optional(),
  region: z.string().max(300).optional(),
  postal_code: z.string().max(300).optional(),
  country: z.string().max(300).optional(),
  idempotency_key: z.string().regex(/^[A-Za-z0-9_:.-]{8,100}$/),
  [CSRF_FIELD]: csrfField,
});

const checkoutPostRoute = apiRoute({
  method: "post",
  path: "/checkout",
  tags: ["storefront"],
  summary: "Place the order (the checkout service of `POST /v1/checkout`), then 303 to its payment page",
  description: "Fields are checked with the checkout's schema; problems re-render the form (422) with a message per field.",
  middleware: [pageCsp],
  request: { query: noQuery, body: form(checkoutFields) },
  responses: { 303: seeOther("To /checkout/pay/{id}?token=…, or /cart."), 422: page("The form again, with what to fix.") },
  errors: [...CART_ERRORS, "CART_NOT_FOUND", "CHECKOUT_UNAVAILABLE", "CHECKOUT_FAILED", "PAYMENT_PROVIDER_UNAVAILABLE", "RATE_LIMIT_UNAVAILABLE", "DATABASE_UNAVAILABLE"],
  fieldCodes: { form: { idempotency_key: "IDEMPOTENCY_KEY_REQUIRED" } },
});

const payPageRoute = apiRoute({
  method: "get",
  path: "/checkout/pay/{id}",
  tags: ["storefront"],
  summary: "The payment page: the order's summary with tax and shipping, then the payment step",
  description:
    "Where the local Stripe fake is configured (development, test): a test-card button. Deployed: Stripe.js and the Payment Element with the PaymentIntent's client secret and the publishable key; the page's CSP allows Stripe's origins.",
  middleware: [paymentCsp],
  request: { params: orderIdParam, query: z.strictObject({ token: orderToken }) },
  responses: { 200: page("The payment page."), 303: seeOther("To the order page: the order is no longer awaiting payment.") },
  errors: ["ORDER_NOT_FOUND", "DATABASE_UNAVAILABLE", "PAYMENT_PROVIDER_UNAVAILABLE", "PAYMENT_PROVIDER_REFUSED"],
});

const payPostRoute = apiRoute({
  method: "post",
  path: "/checkout/pay/{id}",
  tags: ["storefront"],
  summary: "Development and test: pay with the test card at the local Stripe fake (which sends the webhook), then 303 to the order page",
  middleware: [pageCsp],
  request: { params: orderIdParam, query: noQuery, body: form(z.object({ token: orderToken, [CSRF_FIELD]: csrfField })) },
  responses: { 303: seeOther("To /orders/{id}?token=…&placed=1.") },
  errors: ["CSRF_FAILED", "NOT_FOUND", "ORDER_NOT_FOUND", "NO_PAYMENT_INTENT", "DATABASE_UNAVAILABLE"],
});

const orderPageRoute = apiRoute({
  method: "get",
  path: "/orders/{id}",
  tags: ["storefront"],
  summary: "A guest's order link: status (updated until the payment settles), lines and totals",
  middleware: [pageCsp],
  request: { params: orderIdParam, query: z.strictObject({ token: orderToken, placed: z.literal("1").optional() }) },
  responses: { 200: page("The order page.") },
  errors: ["ORDER_NOT_FOUND", "DATABASE_UNAVAILABLE"],
});

/** Checkout's schema problems by form field (the address's fields are flat in the form). */
function fieldErrors(error: z.ZodError): Partial<Record<CheckoutField | "form", string>> {
  const out: Partial<Record<CheckoutField | "form", string>> = {};
  for (const issue of error.issues) {
    const name = String(issue.path[issue.path.length - 1] ?? "form") as CheckoutField;
    out[name] ??= issue.message;
  }
  return out;
}

const blankToUndefined = (v: string | undefined) => (v === undefined || v.trim() === "" ? undefined : v);

export const shopRoutes = apiRouter()
  .openapi(addRoute, async (c) => {
    const body = c.req.valid("form");
    await assertCsrf(c, body[CSRF_FIELD]);
    return orNotice(c, async () => {
      if (!useCartCookie(c)) rememberCart(c, (await createCart(c)).cart_token ?? "");
      try {
        await addItem(c, body.sku, body.quantity);
      } catch (err) {
        // The cookie's cart expired: start a new one.
        if (!(err instanceof AppError && err.code === "CART_NOT_FOUND")) throw err;
        rememberCart(c, (await createCart(c)).cart_token ?? "");
        await addItem(c, body.sku, body.quantity);
      }
    });
  })
  .openapi(cartPageRoute, async (c) => {
    const notice = c.req.valid("query").notice;
    const [cart, tree] = await Promise.all([browserCart(c), nav(c)]);
    const data = { cart, csrf: csrfToken(c), notice: notice ? (NOTICES[notice as ErrorCode] ?? "That change could not be made.") : null, maxLineQty: c.get("config").cart.maxLineQty, nav: tree };
    return prebuilt(cartPageRoute, await render(c, <CartPage data={data} />));
  })
  .openapi(setQuantityRoute, async (c) => {
    const body = c.req.valid("form");
    await assertCsrf(c, body[CSRF_FIELD]);
    if (!useCartCookie(c)) return redirect(c, "/cart");
    return orNotice(c, () => setQuantity(c, c.req.valid("param").sku, body.quantity));
  })
  .openapi(removeRoute, async (c) => {
    await assertCsrf(c, c.req.valid("form")[CSRF_FIELD]);
    if (!useCartCookie(c)) return redirect(c, "/cart");
    return orNotice(c, () => removeItem(c, c.req.valid("param").sku));
  })
  .openapi(couponRoute, async (c) => {
    const body = c.req.valid("form");
    await assertCsrf(c, body[CSRF_FIELD]);
    if (!useCartCookie(c)) return redirect(c, "/cart");
    return orNotice(c, () => setCoupon(c, body.code === "" ? null : body.code.toUpperCase()));
  })
  .openapi(checkoutPageRoute, async (c) => {
    const [cart, tree] = await Promise.all([browserCart(c), nav(c)]);
    if (!cart || cart.lines.length === 0) return redirect(c, "/cart");
    const data = { cart, csrf: csrfToken(c), idempotencyKey: crypto.randomUUID(), values: {}, errors: {}, nav: tree };
    return prebuilt(checkoutPageRoute, await render(c, <CheckoutPage data={data} />));
  })
  .openapi(checkoutPostRoute, async (c) => {
    const body = c.req.valid("form");
    await assertCsrf(c, body[CSRF_FIELD]);
    const cart = await browserCart(c);
    if (!cart || cart.lines.length === 0) return redirect(c, "/cart");
    const input = {
      email: blankToUndefined(body.email),
      shipping_address: Object.fromEntries(
        (["name", "line1", "line2", "city", "region", "postal_code", "country"] as const).flatMap((k) => {
          const v = blankToUndefined(body[k]);
          return v === undefined ? [] : [[k, v]];
        }),
      ),
    };
    const parsed = checkoutSchema.safeParse(input);
    const again = async (errors: Partial<Record<CheckoutField | "form", string>>) => {
      const values: Partial<Record<CheckoutField, string>> = { ...body };
      const data = { cart, csrf: csrfToken(c), idempotencyKey: body.idempotency_key, values, errors, nav: await nav(c) };
      return prebuilt(checkoutPostRoute, await render(c, <CheckoutPage data={data} />, 422));
    };
    if (!parsed.success) return again(fieldErrors(parsed.error));
    if (!parsed.data.email) return again({ email: "Enter your email address: we send the order's link there." });
    try {
      const result = await checkout(c, body.idempotency_key, parsed.data);
      return redirect(c, `/checkout/pay/${result.order.id}?token=${encodeURIComponent(result.order_token ?? "")}`);
    } catch (err) {
      // Refusals a shopper can act on (stock gone, a limit, a declined setup) are shown on the form; faults stay errors.
      if (err instanceof AppError && err.status < 500) return again({ form: err.message });
      throw err;
    }
  })
  .openapi(payPageRoute, async (c) => {
    const { id } = c.req.valid("param");
    const { token } = c.req.valid("query");
    const ctx = serviceContext(c);
    const order = await orderDetail(ctx, { userId: null, orderToken: token }, id);
    if (order.status !== "pending_payment") return redirect(c, `/orders/${id}?token=${encodeURIComponent(token)}`);
    let step: PaymentStep = { kind: "test-card" };
    if (!usesTestCard(c)) {
      const config = c.get("config");
      if (!config.stripe.publishableKey || !order.payment_intent_id) throw new AppError("PAYMENT_PROVIDER_UNAVAILABLE", "Payments are not configured");
      let clientSecret: string | null;
      try {
        clientSecret = (await stripeClient(config).paymentIntents.retrieve(order.payment_intent_id)).client_secret;
      } catch (err) {
        throw stripeRefusal(err);
      }
      if (!clientSecret) throw new AppError("PAYMENT_PROVIDER_UNAVAILABLE", "The payment has no client secret");
      step = { kind: "stripe", publishableKey: config.stripe.publishableKey, clientSecret, returnUrl: `${config.publicAppUrl}/orders/${id}?token=${encodeURIComponent(token)}&placed=1` };
    }
    const data = { order, orderToken: token, csrf: csrfToken(c), step, nav: await nav(c) };
    return prebuilt(payPageRoute, await render(c, <PaymentPage data={data} />));
  })
  .openapi(payPostRoute, async (c) => {
    const { id } = c.req.valid("param");
    const body = c.req.valid("form");
    await assertCsrf(c, body[CSRF_FIELD]);
    // The test card exists only where the local Stripe fake does.
    if (!usesTestCard(c)) throw new AppError("NOT_FOUND", "No test-card payments here");
    await simulatePayment(serviceContext(c), { userId: null, orderToken: body.token }, id, "succeeded");
    return redirect(c, `/orders/${id}?token=${encodeURIComponent(body.token)}&placed=1`);
  })
  .openapi(orderPageRoute, async (c) => {
    const { id } = c.req.valid("param");
    const q = c.req.valid("query");
    const [order, tree] = await Promise.all([orderDetail(serviceContext(c), { userId: null, orderToken: q.token }, id), nav(c)]);
    return prebuilt(orderPageRoute, await render(c, <OrderPage data={{ order, placed: q.placed === "1", nav: tree }} />));
  });
