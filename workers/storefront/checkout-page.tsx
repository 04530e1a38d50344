/**
 * Guest checkout: the email and shipping address form, then the payment page with the order's server-computed
 * summary (subtotal, discount, tax, shipping, total) above the payment step. The payment step comes in two variants,
 * chosen from config: a test-card button where the local Stripe fake is configured, Stripe.js + the Payment Element
 * with the PaymentIntent's client secret in deployed environments.
 */
import type { CartView } from "../cart";
import type { CategoryNode } from "../catalog";
import type { OrderDetail } from "../orders";
import { ASSETS_PATH, Layout } from "./layout";
import { formatMoney, formatName } from "./links";
import { CsrfField } from "./cart-page";

/** The address fields, in form order, with their labels and autocomplete tokens. */
const ADDRESS_FIELDS = [
  { name: "name", label: "Full name", autocomplete: "name", required: true, max: 120 },
  { name: "line1", label: "Address", autocomplete: "address-line1", required: true, max: 200 },
  { name: "line2", label: "Address line 2 (optional)", autocomplete: "address-line2", required: false, max: 200 },
  { name: "city", label: "City", autocomplete: "address-level2", required: true, max: 100 },
  { name: "region", label: "State or region code (e.g. CA)", autocomplete: "address-level1", required: false, max: 3 },
  { name: "postal_code", label: "Postal code", autocomplete: "postal-code", required: true, max: 12 },
  { name: "country", label: "Country code (e.g. US)", autocomplete: "country", required: true, max: 2 },
] as const;

/** The checkout form's field names. */
export type CheckoutField = "email" | (typeof ADDRESS_FIELDS)[number]["name"];

export interface CheckoutPageData {
  cart: CartView;
  csrf: string;
  /** Makes a resubmitted form (double click, retry after a fault) the same checkout. */
  idempotencyKey: string;
  values: Partial<Record<CheckoutField, string>>;
  /** Messages by field, from the checkout schema; `form` for the whole form. */
  errors: Partial<Record<CheckoutField | "form", string>>;
  nav: readonly CategoryNode[];
}

/** The email and address form, with the cart's lines beside it. */
export function CheckoutPage({ data }: { data: CheckoutPageData }) {
  const { cart, errors, values } = data;
  const field = (name: CheckoutField, label: string, type: string, autocomplete: string, required: boolean, max: number) => {
    const id = `checkout-${name}`;
    const error = errors[name];
    return (
      <p class="field">
        <label for={id}>{label}</label>
        <input
          id={id}
          name={name}
          type={type}
          autocomplete={autocomplete}
          maxlength={max}
          value={values[name] ?? (name === "country" ? "US" : "")}
          required={required}
          aria-invalid={error ? "true" : undefined}
          aria-describedby={error ? `${id}-error` : undefined}
        />
        {error ? (
          <span class="field-error" id={`${id}-error`}>
            {error}
          </span>
        ) : null}
      </p>
    );
  };
  return (
    <Layout title="Checkout" nav={data.nav}>
      <h1>Checkout</h1>
      {errors.form ? (
        <p class="notice" role="alert">
          {errors.form}
        </p>
      ) : null}
      <section class="checkout-cart" aria-labelledby="checkout-cart">
        <h2 id="checkout-cart">Your cart</h2>
        <ul>
          {cart.lines.map((l) => (
            <li>
              {l.quantity} × {l.title} ({formatName(l.format)}), {formatMoney(l.line_total, l.currency)}
            </li>
          ))}
        </ul>
        <p>
          Subtotal: {formatMoney(cart.subtotal, cart.currency)} <a href="/cart">Change the cart</a>
        </p>
      </section>
      <form class="checkout-form" method="post" action="/checkout">
        <CsrfField token={data.csrf} />
        <input type="hidden" name="idempotency_key" value={data.idempotencyKey} />
        <fieldset>
          <legend>Contact</legend>
          {field("email", "Email", "email", "email", true, 254)}
        </fieldset>
        <fieldset>
          <legend>Shipping address</legend>
          {ADDRESS_FIELDS.map((f) => field(f.name, f.label, "text", `shipping ${f.autocomplete}`, f.required, f.max))}
        </fieldset>
        <button type="submit">Continue to payment</button>
      </form>
    </Layout>
  );
}

/** How this environment takes the payment. */
export type PaymentStep =
  | { kind: "test-card" }
  | { kind: "stripe"; publishableKey: string; clientSecret: string; returnUrl: string };

export interface PaymentPageData {
  order: OrderDetail;
  /** The guest's order token (the order link's proof). */
  orderToken: string;
  csrf: string;
  step: PaymentStep;
  nav: readonly CategoryNode[];
}

/** An order's lines and the totals the server computed (tax and shipping included). */
export function OrderSummary({ order }: { order: OrderDetail }) {
  const money = (n: number) => formatMoney(n, order.currency);
  return (
    <section class="order-summary" aria-labelledby="order-summary">
      <h2 id="order-summary">Order summary</h2>
      <ul class="order-lines">
        {order.lines.map((l) => (
          <li>
            {l.quantity} × {l.title} ({formatName(l.format)}), {money(l.line_total)}
          </li>
        ))}
      </ul>
      <dl class="totals">
        <dt>Subtotal</dt>
        <dd class="subtotal">{money(order.subtotal)}</dd>
        {order.discount_total > 0 ? (
          <>
            <dt>Discount</dt>
            <dd class="discount">−{money(order.discount_total)}</dd>
          </>
        ) : null}
        <dt>Tax</dt>
        <dd class="tax">{money(order.tax_total)}</dd>
        <dt>Shipping</dt>
        <dd class="shipping">{money(order.shipping_total)}</dd>
        <dt>Total</dt>
        <dd class="grand-total">{money(order.grand_total)}</dd>
      </dl>
    </section>
  );
}

/** The order's summary, then the payment step. */
export function PaymentPage({ data }: { data: PaymentPageData }) {
  const { order, step } = data;
  const total = formatMoney(order.grand_total, order.currency);
  return (
    <Layout title="Payment" nav={data.nav}>
      <h1>Payment for order {order.number}</h1>
      <OrderSummary order={order} />
      <section class="payment" aria-labelledby="payment">
        <h2 id="payment">Pay {total}</h2>
        {step.kind === "test-card" ? (
          <form method="post" action={`/checkout/pay/${encodeURIComponent(order.id)}`}>
            <CsrfField token={data.csrf} />
            <input type="hidden" name="token" value={data.orderToken} />
            <p>Test mode: no real card is charged. The payment is confirmed at the local Stripe fake with Stripe's test card (Visa 4242 4242 4242 4242).</p>
            <button type="submit">Pay {total} with the test card</button>
          </form>
        ) : (
          <form
            id="payment-form"
            data-publishable-key={step.publishableKey}
            data-client-secret={step.clientSecret}
            data-return-url={step.returnUrl}
          >
            <div id="payment-element"></div>
            <button type="submit">Pay {total}</button>
            <p id="payment-message" role="alert"></p>
            <script src="https://js.stripe.com/v3/"></script>
            <script src={`${ASSETS_PATH}/payment.js`} defer></script>
          </form>
        )}
      </section>
    </Layout>
  );
}
