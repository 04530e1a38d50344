/**
 * Orders of record. The CartDO's checkout saga creates an order (`pending_payment`) with its lines and totals in one
 * transaction; afterwards only the order state machine (workers/orders/state-machine.ts) changes `status`, and every
 * change is a row in `order_history`. Money is integer minor units in the order's currency.
 */
import { sql } from "drizzle-orm";
import { bigint, bigserial, char, check, index, integer, jsonb, pgTable, primaryKey, text, timestamp, uniqueIndex, uuid } from "drizzle-orm/pg-core";
import { users } from "../accounts/tables";

export const orderStatuses = [
  "pending_payment",
  "paid",
  "fulfilled",
  "shipped",
  "delivered",
  "cancelled",
  "payment_failed",
  "expired",
  "refunded",
  "partially_refunded",
] as const;
export type OrderStatus = (typeof orderStatuses)[number];

export const orders = pgTable(
  "orders",
  {
    /** Chosen by the CartDO when it locks the cart, so a retried saga writes the same order (and Stripe key). */
    id: uuid("id").primaryKey(),
    /** Human-facing number, e.g. NB-000042. */
    number: bigserial("number", { mode: "number" }).notNull(),
    userId: uuid("user_id").references(() => users.id, { onDelete: "set null" }),
    cartId: text("cart_id").notNull(),
    /** The Idempotency-Key of the checkout request that created it. */
    checkoutKey: text("checkout_key").notNull(),
    email: text("email").notNull(),
    status: text("status").$type<OrderStatus>().notNull(),
    currency: char("currency", { length: 3 }).notNull(),
    subtotal: integer("subtotal").notNull(),
    discountTotal: integer("discount_total").notNull().default(0),
    taxTotal: integer("tax_total").notNull(),
    shippingTotal: integer("shipping_total").notNull(),
    grandTotal: integer("grand_total").notNull(),
    /** Tax rate applied, in basis points, and the region it came from (kept: rates change later). */
    taxRateBps: integer("tax_rate_bps").notNull(),
    shippingRegion: text("shipping_region").notNull(),
    /** The shipping address, AES-GCM encrypted with the PII key ring (context `order-address:<id>`). */
    shippingAddressEnc: text("shipping_address_enc").notNull(),
    couponCode: text("coupon_code"),
    paymentIntentId: text("payment_intent_id"),
    amountPaid: integer("amount_paid").notNull().default(0),
    amountRefunded: integer("amount_refunded").notNull().default(0),
    /** When the checkout's stock holds lapse; an unpaid order past this is expired by reconciliation. */
    holdsExpireAt: timestamp("holds_expire_at", { withTimezone: true, mode: "date" }).notNull(),
    paidAt: timestamp("paid_at", { withTimezone: true, mode: "date" }),
    version: integer("version").notNull().default(1),
    createdAt: timestamp("created_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
    updatedAt: timestamp("updated_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex("orders_number_uq").on(t.number),
    uniqueIndex("orders_payment_intent_uq").on(t.paymentIntentId),
    uniqueIndex("orders_cart_key_uq").on(t.cartId, t.checkoutKey),
    index("orders_user_idx").on(t.userId, t.createdAt),
    index("orders_status_idx").on(t.status, t.createdAt),
    check("orders_status_ck", sql`${t.status} in ('pending_payment','paid','fulfilled','shipped','delivered','cancelled','payment_failed','expired','refunded','partially_refunded')`),
    check(
      "orders_totals_ck",
      sql`${t.subtotal} >= 0 and ${t.discountTotal} >= 0 and ${t.taxTotal} >= 0 and ${t.shippingTotal} >= 0 and ${t.grandTotal} = ${t.subtotal} - ${t.discountTotal} + ${t.taxTotal} + ${t.shippingTotal}`,
    ),
    check("orders_refund_ck", sql`${t.amountRefunded} >= 0 and ${t.amountPaid} >= 0 and ${t.amountRefunded} <= greatest(${t.amountPaid}, ${t.grandTotal})`),
  ],
);

export const orderLines = pgTable(
  "order_lines",
  {
    orderId: uuid("order_id")
      .notNull()
      .references(() => orders.id, { onDelete: "cascade" }),
    lineNo: integer("line_no").notNull(),
    variantId: bigint("variant_id", { mode: "number" }).notNull(),
    productId: bigint("product_id", { mode: "number" }).notNull(),
    sku: text("sku").notNull(),
    title: text("title").notNull(),
    format: text("format").notNull(),
    unitPrice: integer("unit_price").notNull(),
    quantity: integer("quantity").notNull(),
    lineTotal: integer("line_total").notNull(),
    /** The StockDO hold that backs this line (`<order id>:<sku>`, or a re-reservation after expiry). */
    holdId: text("hold_id").notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.orderId, t.lineNo] }),
    index("order_lines_sku_idx").on(t.sku),
    check("order_lines_qty_ck", sql`${t.quantity} > 0`),
    check("order_lines_total_ck", sql`${t.lineTotal} = ${t.unitPrice} * ${t.quantity}`),
  ],
);

export const orderHistory = pgTable(
  "order_history",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    orderId: uuid("order_id")
      .notNull()
      .references(() => orders.id, { onDelete: "cascade" }),
    fromStatus: text("from_status").$type<OrderStatus>(),
    toStatus: text("to_status").$type<OrderStatus>().notNull(),
    /** Why: `checkout`, `payment_intent.succeeded`, `holds_expired`, `out_of_stock_after_payment`, `staff` … */
    reason: text("reason").notNull(),
    actor: text("actor").notNull(),
    /** The Stripe event (or other cause) that drove it. */
    ref: text("ref"),
    details: jsonb("details").$type<Record<string, unknown>>(),
    createdAt: timestamp("created_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
  },
  (t) => [index("order_history_order_idx").on(t.orderId, t.id)],
);

/** Tax by shipping region (ISO country, or country-subdivision like `US-CA`); `*` is the fallback. */
export const taxRates = pgTable("tax_rates", {
  region: text("region").primaryKey(),
  rateBps: integer("rate_bps").notNull(),
  name: text("name").notNull(),
});

/** Flat shipping per region, free from a threshold (null: never free). `*` is the fallback. */
export const shippingRules = pgTable("shipping_rules", {
  region: text("region").primaryKey(),
  flatFee: integer("flat_fee").notNull(),
  freeOver: integer("free_over"),
  currency: char("currency", { length: 3 }).notNull().default("USD"),
});
