/**
 * Who placed each unpaid order, for the cap on concurrent unpaid orders (README "Checkout abuse policy"). One row per
 * order, written in the order's own transaction under an advisory lock per key, so concurrent checkouts of one
 * customer are counted one after another. Keys are keyed hashes (never a raw IP or device id).
 */
import { index, pgTable, text, timestamp, uuid } from "drizzle-orm/pg-core";
import { orders } from "../orders/tables";

export const checkoutClaims = pgTable(
  "checkout_claims",
  {
    orderId: uuid("order_id")
      .primaryKey()
      .references(() => orders.id, { onDelete: "cascade" }),
    /** `u:<user id>` for accounts, a hash of the guest device (cart) otherwise. */
    customerKey: text("customer_key").notNull(),
    /** A keyed hash of the client IP (IPv6 by /64). */
    ipKey: text("ip_key").notNull(),
    createdAt: timestamp("created_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
  },
  (t) => [index("checkout_claims_customer_idx").on(t.customerKey), index("checkout_claims_ip_idx").on(t.ipKey)],
);
