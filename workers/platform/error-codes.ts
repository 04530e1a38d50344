/**
 * The one error-code registry: every code the API can answer with, its HTTP status, a default message and what it
 * means for the caller. Throw sites name a code (`new AppError("OUT_OF_STOCK", …)`) and never choose a status; the
 * OpenAPI document lists each operation's codes from here, so the reference at /docs and the answers cannot disagree.
 */
import type { ContentfulStatusCode } from "hono/utils/http-status";

export interface ErrorCodeDefinition {
  status: ContentfulStatusCode;
  /** The default human message (throw sites may say something more specific). */
  message: string;
  /** When it happens and what the caller should do. */
  docs: string;
}

const define = <const T extends Record<string, ErrorCodeDefinition>>(table: T): T => table;

export const ERROR_CODES = define({
  // 400: the request itself is wrong; fix it before retrying.
  MALFORMED_REQUEST: { status: 400, message: "The request could not be read", docs: "The body is not valid JSON (or not what its Content-Type says)." },
  VALIDATION_FAILED: { status: 400, message: "The request is not valid", docs: "A parameter or field breaks its schema; `details` lists each issue with its path." },
  UNKNOWN_PARAMETER: { status: 400, message: "Unknown query parameter", docs: "The query string names a parameter the operation does not define; unknown input is refused, never ignored." },
  UNKNOWN_FIELD: { status: 400, message: "Unknown field", docs: "The body has a field the operation does not define (client prices and statuses included)." },
  PAGE_SIZE_TOO_LARGE: { status: 400, message: "Page size too large", docs: "`limit` is above the operation's maximum." },
  PAGE_OUT_OF_RANGE: { status: 400, message: "Page out of range", docs: "`page` is not a positive integer within the result window." },
  INVALID_LIMIT: { status: 400, message: "Invalid limit", docs: "`limit` is not an integer within its bounds." },
  INVALID_CURSOR: { status: 400, message: "Invalid cursor", docs: "`cursor` was not produced by this list with this sort; start again from the first page." },
  INVALID_SORT: { status: 400, message: "Invalid sort", docs: "`sort` is not one of the documented values." },
  INVALID_PRICE_RANGE: { status: 400, message: "Invalid price range", docs: "A price bound is not an integer number of cents, or the minimum is above the maximum." },
  INVALID_RATING: { status: 400, message: "Invalid rating", docs: "`rating_min` is not a number from 0 to 5." },
  INVALID_FACET: { status: 400, message: "Invalid facet", docs: "`facets` names a facet that does not exist." },
  INVALID_QUERY: { status: 400, message: "Invalid query", docs: "The search text is empty after normalisation or not text." },
  QUERY_TOO_LONG: { status: 400, message: "Query too long", docs: "The search text has too many characters or words." },
  INVALID_SLUG: { status: 400, message: "Invalid slug", docs: "A slug or id in the path is not lower-case letters, digits and hyphens." },
  INVALID_ISBN: { status: 400, message: "Invalid ISBN", docs: "Not a valid ISBN-10 or ISBN-13 (length or check digit)." },
  INVALID_SKU: { status: 400, message: "Invalid SKU", docs: "A SKU is not upper-case letters, digits and hyphens of the documented length." },
  INVALID_QUANTITY: { status: 400, message: "Invalid quantity", docs: "A quantity is not an integer within the operation's bounds." },
  INVALID_COUPON: { status: 400, message: "Invalid coupon", docs: "The coupon code is malformed." },
  INVALID_EMAIL: { status: 400, message: "Invalid email", docs: "The email address is not a valid address." },
  INVALID_ADDRESS: { status: 400, message: "Invalid address", docs: "The shipping address is incomplete, names an unknown country, or lacks the region its country needs." },
  INVALID_ORDER_ID: { status: 400, message: "Invalid order id", docs: "The order id is not a UUID." },
  INVALID_DELTA: { status: 400, message: "Invalid stock delta", docs: "An inventory adjustment is zero, not an integer, or out of bounds." },
  INVALID_REASON: { status: 400, message: "Invalid reason", docs: "An inventory adjustment names an unknown reason." },
  INVALID_NOTE: { status: 400, message: "Invalid note", docs: "A note is too long or has control characters." },
  IDEMPOTENCY_KEY_REQUIRED: { status: 400, message: "Idempotency-Key header required", docs: "Send an `Idempotency-Key` header (8–100 characters of letters, digits, `_:.-`); retries with the same key are safe." },
  WEBHOOK_SIGNATURE_INVALID: { status: 400, message: "Webhook signature invalid", docs: "The `Stripe-Signature` header is missing, wrong, or more than 5 minutes old or ahead." },
  WEBHOOK_EVENT_INVALID: { status: 400, message: "Webhook event invalid", docs: "A correctly signed event has no well-formed `data.object`." },
  PASSWORD_TOO_SHORT: { status: 400, message: "Password too short", docs: "Passwords have at least 8 characters (code points, after NFKC normalisation)." },
  PASSWORD_TOO_LONG: { status: 400, message: "Password too long", docs: "Passwords have at most 256 characters (code points, after NFKC normalisation)." },
  PASSWORD_TOO_WEAK: { status: 400, message: "Password too weak", docs: "The password is easy to guess; `details.suggestions` says how to do better." },
  PASSWORD_BREACHED_SHAPE: { status: 400, message: "Password has a common shape", docs: "The password matches a pattern common in breached passwords." },
  INVALID_MFA_CODE: { status: 400, message: "Invalid authenticator code", docs: "Enrolment or disabling: the password or the six-digit code is wrong (check the device clock)." },
  INVALID_OR_EXPIRED_TOKEN: { status: 400, message: "Invalid or expired link", docs: "An email verification or password-reset token is unknown, used or expired; request a new email." },
  // 401: who is calling is unknown or not accepted.
  UNAUTHORIZED: { status: 401, message: "Credentials required", docs: "A staff operation was called without a bearer token." },
  AUTHENTICATION_REQUIRED: { status: 401, message: "Sign in required", docs: "The operation needs a signed-in customer (`Authorization: Bearer <access token>`)." },
  INVALID_TOKEN: { status: 401, message: "Invalid access token", docs: "The bearer token is malformed, expired or not signed by us; refresh it." },
  TOKEN_REVOKED: { status: 401, message: "Access token revoked", docs: "The session was signed out (or signed out everywhere); sign in again." },
  INVALID_CREDENTIALS: { status: 401, message: "Invalid email or password", docs: "Login failed; the answer is the same whether or not the address has an account." },
  NO_SESSION: { status: 401, message: "No session", docs: "Refresh or logout without a refresh cookie, or with one that is not ours." },
  SESSION_EXPIRED: { status: 401, message: "Session expired", docs: "The refresh session is past its lifetime; sign in again." },
  REFRESH_TOKEN_REUSED: { status: 401, message: "Refresh token reused", docs: "A refresh token was used twice; the whole session family is revoked as a precaution." },
  INVALID_MFA_TOKEN: { status: 401, message: "Login step expired", docs: "The `mfa_token` from the password step is unknown, expired or already used; sign in again." },
  MFA_CODE_REJECTED: { status: 401, message: "Authenticator code rejected", docs: "Second login step: the code is wrong or was already used." },
  // 403: known caller, not allowed.
  FORBIDDEN: { status: 403, message: "Not allowed", docs: "The caller's role does not allow this operation." },
  CSRF_FAILED: { status: 403, message: "CSRF check failed", docs: "Cookie-authenticated calls need the `X-CSRF-Token` header matching the `nb_csrf` cookie." },
  REAUTHENTICATION_FAILED: { status: 403, message: "Password check failed", docs: "A sensitive change needs the current password, and it was wrong." },
  // 404: nothing there (or not the caller's: another customer's objects are 404 too).
  ROUTE_NOT_FOUND: { status: 404, message: "No such route", docs: "No operation has this method and path; see /openapi.json." },
  NOT_FOUND: { status: 404, message: "Not found", docs: "The object does not exist or does not belong to the caller." },
  PRODUCT_NOT_FOUND: { status: 404, message: "Product not found", docs: "No active product has this slug or ISBN." },
  CATEGORY_NOT_FOUND: { status: 404, message: "Category not found", docs: "No category has this slug." },
  VARIANT_NOT_FOUND: { status: 404, message: "Variant not found", docs: "No variant has this SKU." },
  CART_NOT_FOUND: { status: 404, message: "Cart not found", docs: "No cart for this `X-Cart-Token` (or none sent); create one with POST /v1/carts." },
  CART_ITEM_NOT_FOUND: { status: 404, message: "Item not in cart", docs: "The cart has no line with this SKU." },
  ORDER_NOT_FOUND: { status: 404, message: "Order not found", docs: "No order with this id that the caller may see (its owner, or the `X-Order-Token` from checkout)." },
  DEAD_LETTER_NOT_FOUND: { status: 404, message: "Dead letter not found", docs: "No dead-lettered message has this id." },
  SYNONYM_NOT_FOUND: { status: 404, message: "Synonym not found", docs: "No synonym set has this id." },
  // 405
  METHOD_NOT_ALLOWED: { status: 405, message: "Method not allowed", docs: "The path exists but not with this method; the `Allow` header lists the methods." },
  // 409: the request conflicts with the current state; read it again before deciding.
  EMAIL_ALREADY_VERIFIED: { status: 409, message: "Email already verified", docs: "The address is already verified." },
  MFA_ALREADY_ENABLED: { status: 409, message: "Authenticator already enabled", docs: "Disable the current authenticator before enrolling another." },
  MFA_NOT_ENABLED: { status: 409, message: "Authenticator not enabled", docs: "There is no authenticator to disable." },
  MFA_NOT_ENROLLING: { status: 409, message: "No enrolment in progress", docs: "Start enrolment (POST /v1/me/mfa/totp) before confirming it." },
  TOO_MANY_ADDRESSES: { status: 409, message: "Too many addresses", docs: "An account keeps at most 20 addresses; delete one first." },
  INSUFFICIENT_STOCK: { status: 409, message: "Not enough stock", docs: "Fewer units are free than the cart asks for; `details` says how many are." },
  OUT_OF_STOCK: { status: 409, message: "Out of stock", docs: "At checkout, some items are sold out; `details.skus` names them." },
  ITEM_UNAVAILABLE: { status: 409, message: "Item unavailable", docs: "The variant is not for sale (inactive or discontinued)." },
  CART_LOCKED: { status: 409, message: "Cart locked", docs: "The cart is checking out; wait for the order or retry the checkout with its key." },
  CART_ALREADY_ORDERED: { status: 409, message: "Cart already ordered", docs: "This cart became an order; create a new cart." },
  CHECKOUT_IN_PROGRESS: { status: 409, message: "Checkout in progress", docs: "Another checkout of this cart is running; retry after `Retry-After` seconds with the same key." },
  PURCHASE_LIMIT: { status: 409, message: "Purchase limit reached", docs: "The customer (or device, or address) already holds or bought as many of these items as one customer may." },
  UNPAID_ORDER_LIMIT: { status: 409, message: "Too many unpaid orders", docs: "Pay or cancel an open order before starting another." },
  PAYMENT_NOT_STARTED: { status: 409, message: "Payment not started", docs: "The provider does not report this order's payment as requiring action or processing." },
  ORDER_NOT_PENDING: { status: 409, message: "Order not pending", docs: "The order is no longer awaiting payment." },
  HOLDS_EXPIRED: { status: 409, message: "Holds expired", docs: "The order's stock holds lapsed before payment; check out again." },
  ORDER_NOT_CANCELLABLE: { status: 409, message: "Order not cancellable", docs: "Only pending orders can be cancelled by the customer (a payment may have just arrived)." },
  ORDER_NOT_PAID: { status: 409, message: "Order not paid", docs: "Refunds need a paid order." },
  INVALID_TRANSITION: { status: 409, message: "Invalid status change", docs: "The order cannot move from its current status to the requested one." },
  STOCK_BELOW_HELD: { status: 409, message: "Stock below held", docs: "The adjustment would leave fewer units on hand than carts and orders hold." },
  NO_PAYMENT_INTENT: { status: 409, message: "No payment", docs: "The order has no payment to act on." },
  ORDER_ALREADY_REFUNDED: { status: 409, message: "Already refunded", docs: "The payment was already refunded in full." },
  ORDER_NOT_REFUNDABLE: { status: 409, message: "Not refundable", docs: "The provider will not refund this payment (not captured, or disputed)." },
  PAYMENT_STATE_CONFLICT: { status: 409, message: "Payment state conflict", docs: "The payment moved on (paid, processing or cancelled) while this request ran." },
  QUEUE_UNKNOWN: { status: 409, message: "Queue unknown", docs: "The dead letter came from a queue this Worker cannot send to." },
  // 402
  PAYMENT_DECLINED: { status: 402, message: "Payment declined", docs: "The provider declined the payment; holds are released and the order cancelled." },
  // 413
  PAYLOAD_TOO_LARGE: { status: 413, message: "Payload too large", docs: "Request bodies are at most 64 KiB." },
  // 415
  UNSUPPORTED_MEDIA_TYPE: { status: 415, message: "Unsupported media type", docs: "Bodies are `application/json`." },
  // 422: well-formed, but not acceptable as it stands.
  QUANTITY_LIMIT: { status: 422, message: "Quantity limit", docs: "A line is above the per-item maximum or the variant's sale limit." },
  CART_FULL: { status: 422, message: "Cart full", docs: "A cart holds at most 50 distinct items." },
  CART_EMPTY: { status: 422, message: "Cart empty", docs: "Checkout needs at least one item." },
  EMAIL_REQUIRED: { status: 422, message: "Email required", docs: "Guest checkout needs an email address." },
  MIXED_CURRENCIES: { status: 422, message: "Mixed currencies", docs: "All items of one order share a currency." },
  IDEMPOTENCY_KEY_REUSED: { status: 422, message: "Idempotency-Key reused", docs: "This key was used with a different request; use a new key for a new request." },
  REFUND_TOO_LARGE: { status: 422, message: "Refund too large", docs: "The refund is larger than what is left to refund." },
  PAYMENT_PROVIDER_REFUSED: { status: 422, message: "Payment provider refused", docs: "The provider refused the request; `details.provider_code` says why." },
  // 429: slow down; `Retry-After` says for how long.
  RATE_LIMITED: { status: 429, message: "Too many requests", docs: "A rate limit applies; wait `Retry-After` seconds." },
  LOGIN_BACKOFF: { status: 429, message: "Too many failed logins", docs: "Failed logins for this account or address back off exponentially; wait `Retry-After` seconds." },
  // 500: ours.
  CONFIG_INVALID: { status: 500, message: "Service misconfigured", docs: "A binding or secret is missing or invalid; the request id finds it in the logs." },
  INTERNAL_ERROR: { status: 500, message: "Internal error", docs: "A bug of ours; the request id finds it in the logs." },
  // 503: a dependency is briefly unavailable; retry after `Retry-After`. Nothing was changed.
  DATABASE_UNAVAILABLE: { status: 503, message: "Database unavailable", docs: "Postgres cannot be reached; retry shortly." },
  RATE_LIMIT_UNAVAILABLE: { status: 503, message: "Temporarily unavailable", docs: "The rate limiter cannot be reached, and this action fails closed without it." },
  SIGNUP_RETRY: { status: 503, message: "Sign-up briefly unavailable", docs: "A race during sign-up; retry." },
  STOCK_UNAVAILABLE: { status: 503, message: "Stock service unavailable", docs: "The stock counter did not answer; nothing was reserved." },
  CHECKOUT_UNAVAILABLE: { status: 503, message: "Checkout unavailable", docs: "Checkout could not start; the cart is unchanged." },
  CHECKOUT_FAILED: { status: 503, message: "Checkout failed", docs: "Checkout stopped part-way and was rolled back; retry with the same Idempotency-Key." },
  PAYMENT_PROVIDER_UNAVAILABLE: { status: 503, message: "Payment provider unavailable", docs: "The payment provider is not answering; retry shortly." },
  DURABLE_OBJECT_UNAVAILABLE: { status: 503, message: "Briefly unavailable", docs: "A cart or stock object did not answer after retries." },
  DURABLE_OBJECT_OVERLOADED: { status: 503, message: "High demand", docs: "A cart or stock object is overloaded (a hot item in a flash sale); retry in a moment." },
  SEARCH_UNAVAILABLE: { status: 503, message: "Search unavailable", docs: "The search engine cannot be reached." },
  SEARCH_TIMEOUT: { status: 503, message: "Search timed out", docs: "The query took too long; simplify it or retry." },
});

export type ErrorCode = keyof typeof ERROR_CODES;

/** The HTTP status of a code. */
export const statusOf = (code: ErrorCode): ContentfulStatusCode => ERROR_CODES[code].status;

/** True when `value` is a registered code (for codes that cross a boundary as strings, e.g. from a Durable Object). */
export const isErrorCode = (value: string): value is ErrorCode => Object.hasOwn(ERROR_CODES, value);
