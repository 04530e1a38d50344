/**
 * Response schemas of the cart and checkout routes: what the document promises and the conformance tests check.
 * Amounts are integer minor units next to their ISO currency (a cart is one currency).
 */
import { z } from "zod";

const minor = (description: string) => z.number().int().meta({ description: `${description} Minor units (cents).` });
const currency = z.string().length(3).meta({ description: "ISO 4217 code.", example: "USD" });

export const cartLineSchema = z
  .object({
    sku: z.string().meta({ example: "BK00002-PB" }),
    title: z.string(),
    slug: z.string().meta({ description: "The product's slug (GET /v1/products/{slug})." }),
    format: z.string().meta({ description: "The variant's format (`paperback`, `hardcover`, `ebook`…)." }),
    quantity: z.number().int().min(1),
    unit_price: minor("The price when the line was added (display only: checkout re-prices from the primary)."),
    line_total: minor("unit_price × quantity."),
    currency,
    available: z.number().int().min(0).nullable().meta({ description: "Units the shop can sell right now; null when not counted (ebooks, backorderable items, or stock briefly unreadable)." }),
    in_stock: z.boolean().meta({ description: "False when the variant cannot be bought, or fewer units are free than the line asks for." }),
  })
  .meta({ id: "CartLine" });

export const cartViewSchema = z
  .object({
    id: z.string().meta({ description: "`g-<uuid>` for a guest cart, `u-<user id>` for a customer's." }),
    status: z.enum(["open", "checking_out", "ordered"]).meta({ description: "`checking_out` while a checkout holds the lock; `ordered` once it made an order (the next change starts a fresh cart)." }),
    version: z.number().int().meta({ description: "Bumped by every change." }),
    currency: z.string().length(3).meta({ description: "The lines' currency (`USD` for an empty cart).", example: "USD" }),
    lines: z.array(cartLineSchema),
    item_count: z.number().int().meta({ description: "Units across all lines." }),
    subtotal: minor("Sum of the line totals, before discounts, tax and shipping."),
    coupon: z.string().nullable().meta({ description: "The coupon code in the cart's slot (upper-cased), resolved at checkout; null when none." }),
    expires_at: z.string().meta({ format: "date-time", description: "When the cart expires if nothing touches it." }),
    order_id: z.string().nullable().meta({ format: "uuid", description: "The order of the cart's checkout while it is `checking_out` or `ordered`; null otherwise." }),
  })
  .meta({ id: "Cart" });

export const createdCartSchema = z
  .object({
    cart: cartViewSchema,
    cart_token: z.string().nullable().meta({ description: "A guest cart's token: send it as `X-Cart-Token`. Null for a signed-in customer, whose cart is theirs by the bearer token." }),
  })
  .meta({ id: "CreatedCart" });

export const checkoutResultSchema = z
  .object({
    order: z.object({
      id: z.string().meta({ format: "uuid" }),
      number: z.string().meta({ description: "The human order number.", example: "NB-000123" }),
      status: z.literal("pending_payment"),
      currency,
      subtotal: minor("Server prices × quantities."),
      discount_total: minor("Discounts applied."),
      tax_total: minor("Tax on the discounted subtotal, rounded once per order."),
      shipping_total: minor("Shipping (0 over the region's free threshold)."),
      grand_total: minor("What the payment charges."),
      holds_expire_at: z.string().meta({ format: "date-time", description: "When the order's stock holds lapse unless paid (see POST /v1/checkout/payment-started)." }),
      lines: z.array(
        z.object({
          sku: z.string(),
          title: z.string(),
          quantity: z.number().int().min(1),
          unit_price: minor("The server's price at checkout."),
          line_total: minor("unit_price × quantity."),
        }),
      ),
      repriced: z
        .array(z.object({ sku: z.string(), was: minor("The cart's price."), now: minor("The price charged.") }))
        .meta({ description: "Lines whose price changed since they were added (server prices win); empty when none did." }),
    }),
    payment: z.object({
      provider: z.literal("stripe"),
      payment_intent_id: z.string().meta({ example: "pi_3Q0abc" }),
      client_secret: z.string().meta({ description: "For Stripe.js `confirmPayment` in the browser." }),
    }),
    order_token: z.string().meta({ description: "Lets a guest read and cancel the order: send it as `X-Order-Token`." }),
  })
  .meta({ id: "CheckoutResult" });

export const paymentStartedResultSchema = z
  .object({
    order_id: z.string().meta({ format: "uuid" }),
    payment_status: z.enum(["requires_action", "processing"]).meta({ description: "The PaymentIntent's status at Stripe (read there, never taken from the client)." }),
    holds_expire_at: z.string().meta({ format: "date-time", description: "The holds' new expiry (bounded, counted from the order's creation)." }),
  })
  .meta({ id: "PaymentStarted" });

// Examples, from the seed catalog (dev/seed-data: BK00002-PB is the paperback of Harry Potter and the Sorcerer's Stone).
const EXAMPLE_CART = {
  id: "g-6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f",
  status: "open",
  version: 3,
  currency: "USD",
  lines: [
    {
      sku: "BK00002-PB",
      title: "Harry Potter and the Sorcerer's Stone",
      slug: "harry-potter-and-the-sorcerers-stone",
      format: "paperback",
      quantity: 2,
      unit_price: 1899,
      line_total: 3798,
      currency: "USD",
      available: 41,
      in_stock: true,
    },
    {
      sku: "BK00001-EB",
      title: "The Hunger Games",
      slug: "the-hunger-games",
      format: "ebook",
      quantity: 1,
      unit_price: 499,
      line_total: 499,
      currency: "USD",
      available: null,
      in_stock: true,
    },
  ],
  item_count: 3,
  subtotal: 4297,
  coupon: null,
  expires_at: "2025-06-08T10:15:00.000Z",
  order_id: null,
} satisfies z.input<typeof cartViewSchema>;

export const cartExample = { data: EXAMPLE_CART };

export const createdCartExample = {
  data: {
    cart: { ...EXAMPLE_CART, version: 1, lines: [], item_count: 0, subtotal: 0 },
    cart_token: "g-6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f.q2Zl0c3Vw8lT1m3yJ0tQb8m7yR9xP4kV6nB2hC5dE1A",
  },
};

const ORDER_ID = "0b7e4c1a-2f3d-4e5b-8c6d-7a9f0e1d2c3b";

export const checkoutExample = {
  data: {
    order: {
      id: ORDER_ID,
      number: "NB-000123",
      status: "pending_payment",
      currency: "USD",
      subtotal: 3798,
      discount_total: 0,
      tax_total: 275,
      shipping_total: 0,
      grand_total: 4073,
      holds_expire_at: "2025-06-01T10:20:00.000Z",
      lines: [{ sku: "BK00002-PB", title: "Harry Potter and the Sorcerer's Stone", quantity: 2, unit_price: 1899, line_total: 3798 }],
      repriced: [],
    },
    payment: { provider: "stripe", payment_intent_id: "pi_3QxYz1AbCdEf2345", client_secret: "pi_3QxYz1AbCdEf2345_secret_9LmNoPqRsTuVwXyZ" },
    order_token: `${ORDER_ID}.Zk3m9QpL2xV7nR4tB8wC1yD6hJ0sF5gA3eK9uM2oI7c`,
  },
} satisfies { data: z.input<typeof checkoutResultSchema> };
